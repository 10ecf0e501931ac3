import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { UserError } from '../../core/errors.js';
import {
  modelInputOptions,
  quantSetupWithEval,
  withEvalOption,
  withModelOptions,
  withQuantOptions,
  type EvalArgs,
  type ModelArgs,
  type QuantArgs,
} from '../options.js';

interface TuiArgs extends Omit<ModelArgs, 'model'>, QuantArgs, EvalArgs {
  model?: string;
  filter?: string;
  metric?: string;
  threshold?: number;
  peak?: number;
  target?: string;
  'emit-dir'?: string;
  worker: boolean;
}

/** The demo model shipped with the package (DESIGN.md §7), opened by a plain `quantscope`. */
export const DEMO_MODEL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'demo-generator.onnx');

/**
 * `quantscope tui [model]`: the interactive terminal UI. Without a model it opens the demo model.
 * It needs a terminal on stdin and stdout; otherwise it fails at once (exit 2) with one line
 * saying so, and never waits for keys.
 */
export const tuiCommand: CliCommand<TuiArgs> = {
  command: 'tui [model]',
  describe: 'Interactive terminal UI: graph, results, bisect, fix, emit (default model: the demo)',
  builder: (y: Argv) =>
    withQuantOptions(withEvalOption(withModelOptions(y)))
      .positional('model', { type: 'string', demandOption: false, describe: 'ONNX model file (default: the demo model)' })
      .option('filter', { type: 'string', describe: 'Initial graph filter (selection language: op:Conv, re:..., @hotspots)' })
      .option('metric', {
        type: 'string',
        describe: 'Metric of the pass/fail threshold (default snrDb >= 30, every output also psnrDb >= 40)',
        group: 'Thresholds:',
      })
      .option('threshold', {
        type: 'number',
        describe: 'Threshold a tensor must meet (default 30 for snrDb, 0.99 for the cosines)',
        group: 'Thresholds:',
      })
      .option('peak', {
        type: 'number',
        describe: "Peak of the outputs' PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
        group: 'Thresholds:',
      })
      .option('target', {
        type: 'string',
        describe: 'Target of fix at the outputs, default snrDb>=30,psnrDb>=40; several conditions joined by commas',
        group: 'Thresholds:',
      })
      .option('emit-dir', { type: 'string', describe: 'Directory emit writes to (default models)' })
      .epilog('Keys: ? in the UI lists them. Without a terminal on stdin and stdout it exits at once with code 2 and never waits for keys.')
      .option('worker', {
        type: 'boolean',
        default: true,
        describe: 'Run jobs in a worker thread (--no-worker: on the UI thread, keys wait for metric loops)',
      }) as unknown as Argv<TuiArgs>,
  handler: async (args: ArgumentsCamelCase<TuiArgs>) => {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw new UserError(
        'The TUI needs a terminal on stdin and stdout; in scripts use the inspect, compare, bisect, fix and emit commands.',
      );
    }
    // ink prints only the last frame when a CI variable is set; an interactive terminal is not CI.
    for (const name of ['CI', 'CONTINUOUS_INTEGRATION']) if (name in process.env) process.env[name] = '0';
    // React's development build (the default without NODE_ENV) triples the cost of a frame and
    // loads slower; React reads this when it is first imported, just below.
    process.env.NODE_ENV ??= 'production';
    // ink and React take a while to load: load them while the model is opened.
    const launching = import('../../ui/launch.js');
    const { openSession } = await import('../../app/session/session.js');
    const { workerRunner } = await import('../../app/session/worker-runner.js');
    const { inProcessRunner } = await import('../../app/session/in-process-runner.js');
    const options = {
      model: modelInputOptions({ ...args, model: args.model ?? DEMO_MODEL }),
      quant: quantSetupWithEval(args),
      eval: args.eval,
      metric: args.metric,
      threshold: args.threshold,
      peak: args.peak,
      target: args.target,
      emitDir: args['emit-dir'],
    };
    const [session, { runTui }] = await Promise.all([openSession(options), launching]);
    const runner = args.worker ? workerRunner(options) : inProcessRunner(session);
    // Raw mode swallows Ctrl-C (the UI reads it as a key); a signal from outside still ends the
    // UI cleanly: the job is cancelled, the screen and the terminal mode are restored.
    const ended = new AbortController();
    const onSignal = (): void => ended.abort();
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, onSignal);
    try {
      // The demo opens on its story (every node compared); a model of the user's opens on its graph.
      await runTui({ session, runner, initialFilter: args.filter, signal: ended.signal, autoRun: args.model === undefined });
    } finally {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
    }
  },
};
