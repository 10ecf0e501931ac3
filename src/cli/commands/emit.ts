import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { emitModel, type EmitResult } from '../../app/emit/emit.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { displayName } from '../../core/closest.js';
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

function formatEmit(result: EmitResult): string {
  const m = result.manifest;
  const lines = [`wrote ${result.paths.model}, ${result.paths.quant} and ${result.paths.manifest}`];
  const v = result.verification;
  lines.push(
    `verified: ${v.precision.nodes.length} node(s) at their planned precision; ${v.outputs.length} output(s) identical to the quant backend's in a fresh onnxruntime session`,
  );
  const several = result.perInput.length > 1;
  const synthetic = !several && result.perInput.length === 1 && result.perInput[0].sources.some((s) => s.source.startsWith('synthetic'));
  const on = several ? ' (worst input)' : synthetic ? ' on a synthetic input (give --input or --eval for real data)' : '';
  for (const o of result.metrics) {
    const x = o.metrics;
    lines.push(
      `${displayName(o.name, 40)} vs float${on}: cosine ${x.cosine.toFixed(6)}, SNR ${fmtDb(x.snrDb)}, PSNR ${fmtDb(x.psnrDb)}${x.nonFiniteIntroduced > 0 ? `, ${x.nonFiniteIntroduced} NaN/Inf` : ''}`,
    );
  }
  if (several) {
    for (const p of result.perInput) {
      lines.push(
        `  ${displayName(p.input, 60)}: ${p.outputs.map((o) => `${displayName(o.name, 30)} SNR ${fmtDb(o.metrics.snrDb)}, PSNR ${fmtDb(o.metrics.psnrDb)}`).join('; ')}`,
      );
    }
  }
  if (result.warning) lines.push(`warning: ${result.warning}`);
  const { cost } = m;
  lines.push(
    `cost: ${(100 * cost.macShareAboveInt8).toFixed(1)}% of MACs and ${(100 * cost.weightShareAboveInt8).toFixed(1)}% of weights above INT8`,
  );
  for (const note of m.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

function fmtDb(db: number): string {
  return Number.isFinite(db) ? `${db.toFixed(1)} dB` : db > 0 ? 'exact' : String(db);
}
