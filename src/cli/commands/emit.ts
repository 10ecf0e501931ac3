import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { emitModel } from '../../app/emit/emit.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { evaluationContexts } from '../../app/evaluation.js';
import {
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
import { cancelOnSignals } from '../signals.js';
import { formatEmit } from '../../present/emit-text.js';

interface EmitArgs extends ModelArgs, QuantArgs, OutputArgs, EvalArgs {
  out?: string;
  peak?: number;
}

/**
 * `quantscope emit`: writes the QDQ model of a plan with its quant.json and manifest, verified.
 * Exit codes: 0 written and verified; 2 bad input (model, plan, profile, calibration inputs,
 * --out); 3 the written model failed verification (nothing is left under the final names).
 */
export const emitCommand: CliCommand<EmitArgs> = {
  command: 'emit <model>',
  describe: 'Write the mixed-precision QDQ model, its quant.json and manifest, and verify them',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .option('out', { alias: 'o', type: 'string', describe: 'Model file to write, FILE.onnx (default models/<name>.<tag>.onnx)' })
      .option('peak', {
        type: 'number',
        describe: 'Peak value for the PSNR in the manifest (e.g. 255 for 8-bit images; default max |float output|)',
      }) as unknown as Argv<EmitArgs>,
  handler: async (args: ArgumentsCamelCase<EmitArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const evaluation = await evaluationContexts(ctx, args.eval);
      const setup = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
      const result = await emitModel({ ctx, setup, evaluation, out: args.out, peak: args.peak, onProgress, signal });
      if (args.json) printJson({ files: result.paths, tag: result.tag, manifest: result.manifest });
      else print(formatEmit(result));
    } finally {
      release();
    }
  },
};
