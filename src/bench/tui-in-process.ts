import { PassThrough } from 'node:stream';
import { inProcessRunner } from '../app/session/in-process-runner.js';
import { openSession } from '../app/session/session.js';
import { figure, nowMs, type Figure } from './figures.js';
import { inputOptions, type BenchModel } from './models.js';

/**
 * The first frame split from process start-up: in this process, with the UI modules already
 * loaded, the time to open the session (read the model, shape inference, inputs) and then from
 * the loaded session to the frame that shows every node, written by the real TUI (runTui) into
 * a fake 80x24 terminal. The tmux measurement in tui.ts is the one held to the target; this one
 * says where its time goes.
 */
export async function inProcessFirstFrame(model: BenchModel, reps: number, nodes: number): Promise<Figure[]> {
  process.env.NODE_ENV ??= 'production'; // as `quantscope tui` sets it, before React is loaded
  const { runTui } = await import('../ui/launch.js');
  const opens: number[] = [];
  const frames: number[] = [];
  // One warm-up round: the first render in a process compiles React's and ink's code paths.
  for (let r = -1; r < reps; r++) {
    const t0 = nowMs();
    const session = await openSession({ model: inputOptions(model), quant: {} });
    const t1 = nowMs();
    const stdout = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: true });
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
    const ended = new AbortController();
    let shownAt = 0;
    let text = '';
    const wanted = `${nodes} of ${nodes}`;
    const shown = new Promise<void>((resolve) => {
      stdout.on('data', (chunk: Buffer) => {
        if (shownAt > 0) return;
        text += chunk.toString();
        if (text.includes(wanted)) {
          shownAt = nowMs();
          resolve();
        }
      });
    });
    const done = runTui({
      session,
      runner: inProcessRunner(session),
      signal: ended.signal,
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
    });
    await Promise.race([shown, done]);
    ended.abort();
    await done;
    if (shownAt === 0) throw new Error(`the TUI never showed '${wanted}' for ${model.id}`);
    if (r >= 0) {
      opens.push(t1 - t0);
      frames.push(shownAt - t1);
    }
  }
  return [
    figure(
      { id: 'tui.open-session', section: 'tui', model: model.id, label: 'in-process: open the session (read, infer shapes)', unit: 'ms' },
      opens,
    ),
    figure(
      {
        id: 'tui.render-first-frame',
        section: 'tui',
        model: model.id,
        label: 'in-process: loaded session to first frame written',
        unit: 'ms',
      },
      frames,
    ),
  ];
}
