import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { emitTag } from '../../app/emit/emit.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { qdqModel } from '../../app/quantize.js';
import { checkTimeOptions, timeModels } from '../../app/time.js';
import {
  modelInputOptions,
  quantSetupOptions,
  withModelOptions,
  withOutputOptions,
  withQuantOptions,
  type ModelArgs,
  type OutputArgs,
  type QuantArgs,
} from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { cancelOnSignals } from '../signals.js';
import { formatTime } from '../../present/time-text.js';

interface TimeArgs extends ModelArgs, QuantArgs, OutputArgs {
  warmup?: number;
  repeat?: number;
  'profile-nodes': boolean;
  top?: number;
  quantized: boolean;
}

/**
 * `quantscope time`: the float model and the model emit would write for the plan, each timed in a
 * fresh onnxruntime session with default options on this machine (app/time.ts).
 */
export const timeCommand: CliCommand<TimeArgs> = {
  command: 'time <model>',
  describe: "Time the float model and the plan's quantized model on this machine (min, median, max; --profile-nodes: the top nodes)",
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withModelOptions(y)))
      .option('warmup', { type: 'number', describe: 'Untimed runs first (default 3)' })
      .option('repeat', { type: 'number', describe: 'Timed runs (default 10)' })
      .option('profile-nodes', {
        type: 'boolean',
        default: false,
        describe: "onnxruntime's per-node profile: the nodes taking the most time",
      })
      .option('top', { type: 'number', describe: 'Nodes listed with --profile-nodes (default 10)' })
      .option('quantized', {
        type: 'boolean',
        default: true,
        describe: "Also time the plan's quantized model (--no-quantized: the float model only, no calibration)",
      }) as unknown as Argv<TimeArgs>,
  handler: async (args: ArgumentsCamelCase<TimeArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      checkTimeOptions({ warmup: args.warmup, repeat: args.repeat });
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const models = [{ label: 'float', model: ctx.loaded.model }];
      if (args.quantized) {
        const setup = await setUpQuant(ctx, quantSetupOptions(args), onProgress, signal);
        models.push({ label: emitTag(ctx, setup.plan), model: qdqModel(ctx, setup.plan, setup.calibration, []).model });
      }
      const report = await timeModels({
        ctx,
        models,
        warmup: args.warmup,
        repeat: args.repeat,
        profileNodes: args['profile-nodes'],
        top: args.top,
        onProgress,
        signal,
      });
      if (args.json) printJson(report);
      else print(formatTime(report));
    } finally {
      release();
    }
  },
};
