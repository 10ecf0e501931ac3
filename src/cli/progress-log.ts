import type { ProgressEvent, ProgressListener } from '../app/events.js';

/** Time and a repeating timer for progress written to a log; a test passes its own and never sleeps. */
export interface ProgressClock {
  /** Milliseconds on a clock that only goes forward. */
  now(): number;
  /** Calls `tick` every `ms` milliseconds until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: ProgressClock = {
  now: () => performance.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    // A progress line is never a reason to keep the process alive.
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** At most one progress line per stage this often, in a log. */
export const LOG_INTERVAL_MS = 5000;

/** How often the timer looks whether a line is due: a line comes at most this late. */
const TICK_MS = 1000;

/** One run of a counted stage: events whose `done` goes up towards the same `total`. */
interface Pass {
  stage: string;
  done: number;
  total: number;
  detail?: string;
  /** When the pass began: the previous event, which is when its first step began. */
  readonly startedAt: number;
  /** When `done` last went up. */
  doneAt: number;
  lastLineAt: number;
}

/** Seconds as `7 s`, `42 s`, `2 min 05 s` or `1 h 03 min`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * Progress for a log, when stderr is not a terminal (CI, `2>&1 | tee`): stage events and log
 * messages one line each, as they come; a counted stage at most one line per `intervalMs`, with
 * done/total, the percentage, the time spent and, once a step is done, an estimate of the time
 * left: `compare 3/7 (43%) 5 tensor(s); 21 s, about 28 s left`. While a counted stage waits on a
 * long step, the timer repeats its line with the time updated, so a slow run is never silent for
 * longer than the interval. The stage's last step prints its line at once: `...; done in 49 s`.
 *
 * A pass ends at its last step, at a stage event or at a log message (work between counted
 * steps), so a stage left short of its total (bisect stops before its run budget) is never
 * repeated. The estimate takes each remaining step to last as long as the average step so far, or
 * as the step under way once that one has taken longer.
 */
export function logProgress(write: (text: string) => void, options: { clock?: ProgressClock; intervalMs?: number } = {}): ProgressListener {
  const clock = options.clock ?? systemClock;
  const interval = options.intervalMs ?? LOG_INTERVAL_MS;
  let pass: Pass | null = null;
  let lastEventAt: number | null = null;
  let stopTimer: (() => void) | null = null;

  const line = (p: Pass, now: number): string => {
    const percent = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
    const head = `${p.stage} ${p.done}/${p.total} (${percent}%)${p.detail ? ` ${p.detail}` : ''}`;
    const elapsed = (now - p.startedAt) / 1000;
    if (p.done >= p.total) return `${head}; done in ${formatSeconds(elapsed)}`;
    if (p.done <= 0) return `${head}; ${formatSeconds(elapsed)}`;
    // The step under way, when it has taken longer than the average so far, sets the pace.
    const current = now - p.doneAt;
    const perStep = Math.max((p.doneAt - p.startedAt) / p.done, current);
    const left = (perStep * (p.total - p.done - 1) + Math.max(0, perStep - current)) / 1000;
    return `${head}; ${formatSeconds(elapsed)}, ${left >= 1 ? `about ${formatSeconds(left)} left` : 'finishing'}`;
  };
  const close = (): void => {
    pass = null;
    stopTimer?.();
    stopTimer = null;
  };
  const tick = (): void => {
    const now = clock.now();
    if (pass && now - pass.lastLineAt >= interval) {
      pass.lastLineAt = now;
      write(`${line(pass, now)}\n`);
    }
  };

  return (event: ProgressEvent) => {
    const now = clock.now();
    const previous = lastEventAt ?? now;
    lastEventAt = now;
    if (event.type !== 'progress') {
      close();
      if (event.type === 'log') write(`${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
      else write(`${event.stage}${event.detail ? `: ${event.detail}` : ''}\n`);
      return;
    }
    // A count that goes back, or another total, is a new pass (the next input, the next bisect).
    if (!pass || event.done < pass.done || event.total !== pass.total) {
      close();
      pass = { stage: event.stage, done: 0, total: event.total, startedAt: previous, doneAt: previous, lastLineAt: previous };
      stopTimer = clock.every(Math.min(TICK_MS, interval), tick);
    }
    const p: Pass = pass;
    if (event.done > p.done) p.doneAt = now;
    p.stage = event.stage;
    p.done = event.done;
    p.detail = event.detail;
    if (p.done >= p.total) {
      write(`${line(p, now)}\n`);
      close();
    } else if (now - p.lastLineAt >= interval) {
      p.lastLineAt = now;
      write(`${line(p, now)}\n`);
    }
  };
}
