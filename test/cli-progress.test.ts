import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../src/app/events.js';
import { progressPrinter } from '../src/cli/output.js';
import { formatSeconds, type ProgressClock } from '../src/cli/progress-log.js';

/** A clock the test moves by hand: `advance` fires the running timers once per simulated second. */
function fakeClock(): { clock: ProgressClock; advance: (ms: number) => void; timers: () => number } {
  let t = 0;
  let ticks: (() => void)[] = [];
  return {
    clock: {
      now: () => t,
      every: (_ms, tick) => {
        ticks.push(tick);
        return () => {
          ticks = ticks.filter((x) => x !== tick);
        };
      },
    },
    advance: (ms) => {
      for (let left = ms; left > 0; left -= 1000) {
        t += Math.min(1000, left);
        for (const tick of [...ticks]) tick();
      }
    },
    timers: () => ticks.length,
  };
}

/** Runs a script of [seconds to wait, event] and returns the lines written. */
function play(
  script: readonly (readonly [number, ProgressEvent])[],
  options: { tty?: boolean; quiet?: boolean } = {},
): { lines: string[]; timers: number } {
  const { clock, advance, timers } = fakeClock();
  let out = '';
  const listener = progressPrinter({
    tty: options.tty ?? false,
    quiet: options.quiet,
    write: (text) => {
      out += text;
    },
    clock,
    intervalMs: 5000,
  });
  for (const [wait, event] of script) {
    advance(wait * 1000);
    listener(event);
  }
  return { lines: out.split('\n').slice(0, -1), timers: timers() };
}

const stage = (s: string, detail?: string): ProgressEvent => ({ type: 'stage', stage: s, detail });
const step = (s: string, done: number, total: number, detail?: string): ProgressEvent => ({
  type: 'progress',
  stage: s,
  done,
  total,
  detail,
});

/** A compare of 7 groups, 3 s each. */
const SEVEN_GROUPS: [number, ProgressEvent][] = [
  [0, stage('compare', '59 tensors in 7 group(s)')],
  ...[1, 2, 3, 4, 5, 6, 7].map((k): [number, ProgressEvent] => [3, step('compare', k, 7, '5 tensor(s)')]),
];

describe('progress off a terminal', () => {
  it('prints a counted stage once per interval, with done/total, percent, time spent and left, and its end at once', () => {
    const { lines, timers } = play(SEVEN_GROUPS);
    expect(lines).toEqual([
      'compare: 59 tensors in 7 group(s)',
      'compare 1/7 (14%) 5 tensor(s); 5 s, about 16 s left',
      'compare 3/7 (42%) 5 tensor(s); 10 s, about 11 s left',
      'compare 4/7 (57%) 5 tensor(s); 15 s, about 6 s left',
      'compare 6/7 (85%) 5 tensor(s); 20 s, about 1 s left',
      'compare 7/7 (100%) 5 tensor(s); done in 21 s',
    ]);
    expect(timers).toBe(0);
  });

  it('repeats the line of a stage stuck on a long step, the estimate following the slow step', () => {
    const { lines } = play([
      [0, stage('calibrate', 'reading calibration inputs')],
      [2, step('calibrate', 1, 3)],
      [28, step('calibrate', 2, 3)],
      [1, step('calibrate', 3, 3)],
    ]);
    expect(lines).toEqual([
      'calibrate: reading calibration inputs',
      'calibrate 1/3 (33%); 5 s, about 3 s left',
      'calibrate 1/3 (33%); 10 s, about 8 s left',
      'calibrate 1/3 (33%); 15 s, about 13 s left',
      'calibrate 1/3 (33%); 20 s, about 18 s left',
      'calibrate 1/3 (33%); 25 s, about 23 s left',
      'calibrate 1/3 (33%); 30 s, about 28 s left',
      'calibrate 3/3 (100%); done in 31 s',
    ]);
  });

  it('gives no estimate before a step is done, and prints a quick stage only at its end', () => {
    const { lines } = play([
      [0, step('bisect inputs', 0, 2, 'a.png')],
      [7, step('bisect inputs', 1, 2, 'b.png')],
      [1, step('bisect inputs', 2, 2)],
      [0, stage('run')],
      [1, step('run float', 1, 2)],
      [1, step('run float', 2, 2)],
    ]);
    expect(lines).toEqual([
      'bisect inputs 0/2 (0%) a.png; 5 s',
      'bisect inputs 2/2 (100%); done in 8 s',
      'run',
      'run float 2/2 (100%); done in 2 s',
    ]);
  });

  it('ends a pass left short of its total at the next message, and starts a new one when the count goes back', () => {
    const { lines, timers } = play([
      [0, stage('bisect')],
      [6, step('bisect search', 1, 7, 'a FAIL')],
      [6, step('bisect certificate', 2, 7, 'b pass')],
      [5, { type: 'log', level: 'info', message: 'bisect: culprit c (Conv)' }],
      [30, step('bisect search', 1, 7, 'd pass')],
    ]);
    expect(lines).toEqual([
      'bisect',
      'bisect search 1/7 (14%) a FAIL; 6 s, about 36 s left',
      'bisect search 1/7 (14%) a FAIL; 11 s, about 31 s left',
      'bisect certificate 2/7 (28%) b pass; 16 s, about 26 s left',
      'bisect: culprit c (Conv)',
      'bisect search 1/7 (14%) d pass; 30 s, about 3 min 00 s left',
    ]);
    // The last pass is still open (no 7/7): its timer runs until the next message.
    expect(timers).toBe(1);
  });

  it('prints nothing with --quiet', () => {
    expect(play(SEVEN_GROUPS, { quiet: true }).lines).toEqual([]);
  });

  it.each([
    [0.4, '0 s'],
    [42, '42 s'],
    [59.6, '1 min 00 s'],
    [125, '2 min 05 s'],
    [3780, '1 h 03 min'],
  ])('formatSeconds(%f) is %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});

describe('progress on a terminal', () => {
  it('rewrites one line in place, as before', () => {
    const { lines } = play(SEVEN_GROUPS.slice(0, 3).concat([[3, step('compare', 7, 7, '5 tensor(s)')]]), { tty: true });
    expect(lines).toEqual([
      'compare: 59 tensors in 7 group(s)',
      '\r\x1b[2Kcompare 1/7 5 tensor(s)\r\x1b[2Kcompare 2/7 5 tensor(s)\r\x1b[2Kcompare 7/7 5 tensor(s)',
    ]);
  });
});
