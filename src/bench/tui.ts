import { figure, nowMs, type Figure } from './figures.js';
import { CLI, REPO, type BenchModel } from './models.js';
import { Tmux } from './tmux.js';

/**
 * Section 5: TUI responsiveness, driving the real binary in a real terminal (tmux, 80x24) and
 * reading the screen back with capture-pane every few milliseconds; the figures therefore include
 * tmux's own relay (a few ms), which only makes them pessimistic.
 *
 * - First frame: from pressing Enter on `quantscope tui <1,000-node graph>` in a shell until the
 *   graph screen shows all 1,000 nodes (process start, module loading, model reading and shape
 *   inference, first render).
 * - Keypress latency: the same measurement with no job running first (what tmux, the polling and
 *   one render cost by themselves), then while a comparison runs (in the TUI's job worker), from sending a cursor
 *   key until the cursor row has moved on screen. Keys are sent 150-350 ms apart; a key answered
 *   after the run had ended is not counted.
 */

const CURSOR_ROW = /^›[● ]\s*(\d+) /m;
/** Runs started at most while collecting keypresses (short runs may end before a key lands). */
const MAX_RUNS = 40;
const PROMPT_BACK = /qs-bench\$\s*$/;

export interface TuiModel {
  readonly model: BenchModel;
  /** `--calibration` for the run, so the measured run does not calibrate. */
  readonly calibrationFile: string;
}

export interface TuiOptions {
  readonly firstFrame: BenchModel;
  readonly firstFrameReps: number;
  readonly run: TuiModel;
  readonly keypresses: number;
  readonly cache: string;
  readonly onStep: (what: string) => void;
}

export interface TuiDetail {
  readonly keypressesDiscarded: number;
  readonly runsStarted: number;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function tuiCommand(model: BenchModel, cache: string, extra: readonly string[] = []): string {
  const args = ['tui', model.path, ...model.inputArgs, ...extra].map(quote).join(' ');
  return `clear; QUANTSCOPE_CACHE=${quote(cache)} ${quote(process.execPath)} ${quote(CLI)} ${args}`;
}

function cursorOf(screen: string): number | null {
  const m = CURSOR_ROW.exec(screen);
  return m ? Number(m[1]) : null;
}

const running = (screen: string): boolean => /· compare…/.test(screen);
const onGraph = (screen: string): boolean => / graph · /.test(screen);

/** Returns to the graph screen (a finished compare shows its results) and starts a compare of the taps. */
async function startRun(tmux: Tmux): Promise<void> {
  for (let k = 0; k < 6 && !onGraph(tmux.screen()); k++) {
    tmux.keys('Tab');
    await new Promise((r) => setTimeout(r, 100));
  }
  tmux.keys('r');
  await tmux.waitUntil((s) => running(s) || / results · idle/.test(s), 'the compare to start', 30_000);
}

async function quitTui(tmux: Tmux): Promise<void> {
  tmux.keys('q');
  await tmux.waitUntil((s) => PROMPT_BACK.test(s.trimEnd()), 'the shell prompt after quitting', 20_000);
}

export async function tuiResponsiveness(options: TuiOptions): Promise<{ figures: Figure[]; detail: TuiDetail }> {
  const tmux = new Tmux();
  const firstFrame: number[] = [];
  const latencies: number[] = [];
  const idle: number[] = [];
  let discarded = 0;
  let runsStarted = 0;
  await tmux.start(REPO);
  try {
    const nodes = options.firstFrame.id === 'wide-1000' ? 1000 : null;
    const shownAll = nodes === null ? /graph · idle/ : new RegExp(`${nodes} of ${nodes}`);
    for (let r = 0; r < options.firstFrameReps; r++) {
      options.onStep(`first frame ${r + 1}/${options.firstFrameReps}`);
      const sent = tmux.command(tuiCommand(options.firstFrame, options.cache));
      const { at } = await tmux.waitFor(shownAll, 'the first frame', 30_000);
      firstFrame.push(at - sent);
      await quitTui(tmux);
    }

    options.onStep(`keypresses during a compare of ${options.run.model.id}`);
    tmux.command(tuiCommand(options.run.model, options.cache, ['--calibration', options.run.calibrationFile]));
    await tmux.waitFor(/graph · idle/, 'the graph screen', 60_000);
    // The same keys with no run: what tmux, the polling and a render cost by themselves.
    for (let k = 0; k < Math.max(3, Math.ceil(options.keypresses / 2)); k++) {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 200));
      const before = cursorOf(tmux.screen());
      if (before === null) throw new Error(`no cursor row on the graph screen:\n${tmux.screen()}`);
      const want = before === 0 ? 1 : before - 1;
      const sent = tmux.keys(want > before ? 'j' : 'k');
      idle.push((await tmux.waitUntil((s) => cursorOf(s) === want, `the cursor to move to ${want}`, 10_000)).at - sent);
    }
    tmux.keys('a');
    await tmux.waitFor(/ [1-9]\d* taps? /, 'every node tapped');
    let direction = 1;
    // Keys land at a random moment of the run: up to 350 ms in, less when runs are short (the
    // demo model's compare takes a fraction of a second).
    let runMs = Number.POSITIVE_INFINITY;
    let runStarted = 0;
    while (latencies.length < options.keypresses) {
      if (!running(tmux.screen())) {
        if (runStarted > 0) runMs = Math.min(runMs, nowMs() - runStarted);
        if (runsStarted >= MAX_RUNS) break;
        await startRun(tmux);
        runStarted = nowMs();
        runsStarted += 1;
      }
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(350, runMs / 3)));
      const screen = tmux.screen();
      const before = cursorOf(screen);
      // The run may have ended (and shown its results) while we waited: start another.
      if (!running(screen) || !onGraph(screen) || before === null) continue;
      if (before === 0) direction = 1;
      const want = before + direction;
      const sent = tmux.keys(direction > 0 ? 'j' : 'k');
      const seen = await tmux.waitUntil((s) => cursorOf(s) === want || !onGraph(s), `the cursor to move to ${want}`, 10_000);
      if (cursorOf(seen.screen) === want && running(seen.screen)) latencies.push(seen.at - sent);
      else discarded += 1;
      direction = -direction;
      // Let the screen settle before the next key, so each key is timed alone.
      await new Promise((r) => setTimeout(r, 50));
    }
    tmux.keys('Escape');
    await tmux.waitFor(/graph · idle|results · idle/, 'the run cancelled', 60_000);
    await quitTui(tmux);
  } finally {
    tmux.stop();
  }
  const figures = [
    figure(
      {
        id: 'tui.first-frame',
        section: 'tui',
        model: options.firstFrame.id,
        label: 'launch to first frame (tmux 80x24)',
        unit: 'ms',
        target: { comparator: '<=', value: 1000, source: 'DESIGN.md §8' },
      },
      firstFrame,
    ),
    figure(
      {
        id: 'tui.keypress',
        section: 'tui',
        model: options.run.model.id,
        label: 'keypress to screen during a compare',
        unit: 'ms',
        target: { comparator: '<=', value: 100, source: 'issue 7', on: 'worst' },
        note: `${latencies.length} keys over ${runsStarted} run(s)${discarded > 0 ? `, ${discarded} answered after a run ended not counted` : ''}`,
      },
      latencies,
    ),
    figure(
      {
        id: 'tui.keypress-idle',
        section: 'tui',
        model: options.run.model.id,
        label: 'keypress to screen, no run (tmux and polling included)',
        unit: 'ms',
      },
      idle,
    ),
  ];
  return { figures, detail: { keypressesDiscarded: discarded, runsStarted } };
}
