import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { checkFixOptions, DEFAULT_MAX_PROMOTIONS, DEFAULT_TARGET, fix } from '../../app/fix.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { planMemoryUse } from '../../app/memory-plan.js';
import { ExitCode } from '../../core/errors.js';
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
import { formatFix } from '../../present/fix-text.js';

interface FixArgs extends ModelArgs, QuantArgs, OutputArgs, EvalArgs {
  target: string;
  peak?: number;
  strategy: 'bisect' | 'sensitivity';
  'max-promotions'?: number;
  maxPromotions?: number;
  emit?: string;
  out?: string;
}

/**
 * `quantscope fix`: promotes the regions that break the outputs until they meet the target,
 * writes the plan file and, with --emit, the verified model.
 * Exit codes: 0 the target is met; 1 it is not (the plan reached is still written); 2 bad input.
 */
export const fixCommand: CliCommand<FixArgs> = {
  command: 'fix <model>',
  describe: 'Promote the failing layers to INT16/FP32 until the outputs meet a target; write the plan (and the model)',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .option('target', {
        type: 'string',
        default: DEFAULT_TARGET,
        describe:
          'What every output must reach: METRIC>=X or METRIC<=X (cosine, snrDb, psnrDb, mse, ...), several joined by commas all hold',
      })
      .option('peak', {
        type: 'number',
        describe: "Peak of the target's PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
      })
      .option('strategy', {
        type: 'string',
        choices: ['bisect', 'sensitivity'],
        default: 'bisect',
        describe: 'bisect: promote what bisect names, round after round; sensitivity: rank every layer alone, promote the worst first',
      })
      .option('max-promotions', {
        type: 'number',
        describe: `Regions promoted at most, before pruning (default ${DEFAULT_MAX_PROMOTIONS}; when the default runs out short of a reachable target, fix promotes everything and prunes down instead)`,
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'Plan file to write (default: beside the --emit model as FILE.plan.json, else dumps/<model>.fix-plan.json)',
      })
      .option('emit', {
        type: 'string',
        describe: 'Also write and verify the fixed model: FILE.onnx (with .quant.json and .manifest.json beside it)',
      }) as unknown as Argv<FixArgs>,
  handler: async (args: ArgumentsCamelCase<FixArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const options = {
        target: args.target,
        peak: args.peak,
        strategy: args.strategy,
        maxPromotions: args['max-promotions'] ?? args.maxPromotions,
        planOut: args.out,
        emit: args.emit,
      };
      checkFixOptions(options);
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const evaluation = await evaluationContexts(ctx, args.eval);
      const maxMemory = maxMemoryOf(args);
      for (const c of [ctx, ...evaluation]) planMemoryUse(c, 'probe', maxMemory); // before calibrating
      const quant = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
      const report = await fix({ ctx, quant, ...options, evaluation, maxMemory, onProgress, signal });
      if (args.json) printJson(report);
      else print(withFindings(formatFix(report), report.findings, { color: process.stdout.isTTY === true }));
      if (!report.met) return ExitCode.qualityGate;
    } finally {
      release();
    }
  },
};
