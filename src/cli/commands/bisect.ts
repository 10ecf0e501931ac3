import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { bisect, checkBisectOptions } from '../../app/bisect/bisect.js';
import { openModel } from '../../app/context.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { evaluationContexts } from '../../app/evaluation.js';
import {
  maxMemoryOf,
  modelInputOptions,
  quantSetupWithEval,
  withEvalOption,
  withModelOptions,
  withOutputOptions,
  withQuantOptions,
  type EvalArgs,
  type ModelArgs,
  type OutputArgs,
  type QuantArgs,
} from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { withFindings } from '../../present/findings-text.js';
import { cancelOnSignals } from '../signals.js';
import { formatBisect } from '../../present/bisect-text.js';

interface BisectArgs extends ModelArgs, QuantArgs, OutputArgs, EvalArgs {
  output?: string;
  metric?: string;
  threshold?: number;
  peak?: number;
}

/**
 * `quantscope bisect`: the earliest failing layer behind a failing output, one tap per quant run.
 * Exit codes: 0 the culprit was found or the output passes; 2 bad input.
 */
export const bisectCommand: CliCommand<BisectArgs> = {
  command: 'bisect <model>',
  describe: 'Find the first layer where the quantized model fails, with as few taps as possible',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .option('output', { type: 'string', describe: 'Graph output to bisect (default: the first failing one)' })
      .option('metric', { type: 'string', describe: 'Metric a tensor passes on (default snrDb >= 30, and every output also psnrDb >= 40)' })
      .option('threshold', { type: 'number', describe: 'Threshold of the metric (default 30 for snrDb, 0.99 for the cosines)' })
      .option('peak', {
        type: 'number',
        describe: "Peak of the outputs' PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
      }) as unknown as Argv<BisectArgs>,
  handler: async (args: ArgumentsCamelCase<BisectArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const evaluation = await evaluationContexts(ctx, args.eval);
      const maxMemory = maxMemoryOf(args);
      checkBisectOptions(ctx, {
        output: args.output,
        metric: args.metric,
        threshold: args.threshold,
        peak: args.peak,
        maxMemory,
        evaluation,
      });
      const quant = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
      const report = await bisect({
        ctx,
        quant,
        evaluation,
        output: args.output,
        metric: args.metric,
        threshold: args.threshold,
        peak: args.peak,
        maxMemory,
        onProgress,
        signal,
      });
      if (args.json) printJson(report);
      else print(withFindings(formatBisect(report), report.findings, { color: process.stdout.isTTY === true }));
    } finally {
      release();
    }
  },
};
