import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { exportPlan, parseTarget, type ExportResult } from '../../app/export.js';
import { displayName } from '../../core/closest.js';
import { RKNN_PLATFORMS } from '../../quant/export-rknn.js';
import { EXPORT_TARGETS, mappingLine } from '../../quant/plan-export.js';
import { withOutputOptions, type OutputArgs } from '../options.js';
import { print, printJson } from '../output.js';

interface ExportArgs extends OutputArgs {
  plan: string;
  to: string;
  model: string;
  out?: string;
  profile?: string;
  platform?: string;
}

/**
 * `quantscope export PLAN --to TARGET --model MODEL`: a plan as another toolchain's settings.
 * stdout: every file written, then the precision mapping (or JSON with --json); stderr: the notes
 * (what the target cannot express), unless --quiet. Exit codes: 0 written; 2 bad plan, model,
 * profile or flag (nothing written).
 */
export const exportCommand: CliCommand<ExportArgs> = {
  command: 'export <plan>',
  describe: 'Write a plan as onnxruntime quantization overrides, trtexec layer precisions or an RKNN hybrid quantization section',
  builder: (y: Argv) =>
    withOutputOptions(y)
      .positional('plan', { type: 'string', demandOption: true, describe: 'Plan file (from quantscope fix --out, or by hand)' })
      .option('to', {
        type: 'string',
        choices: [...EXPORT_TARGETS],
        demandOption: true,
        describe: 'Target: ort-overrides (quantize_static settings + script), tensorrt (trtexec script), rknn (custom_quantize_layers)',
      })
      .option('model', {
        alias: 'm',
        type: 'string',
        demandOption: true,
        describe: 'The ONNX model the plan is for (exports name its nodes and tensors)',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'File to write (default beside the plan: PLAN.ort-overrides.json, PLAN.trtexec.sh, PLAN.rknn.yaml)',
      })
      .option('profile', { type: 'string', describe: "Profile to resolve the plan with (default the plan file's)" })
      .option('platform', {
        type: 'string',
        describe: `RKNN target platform: ${RKNN_PLATFORMS.join(', ')} (default rk3588)`,
      }) as unknown as Argv<ExportArgs>,
  handler: (args: ArgumentsCamelCase<ExportArgs>) => {
    const result = exportPlan({
      planFile: args.plan,
      model: args.model,
      target: parseTarget(args.to),
      out: args.out,
      profile: args.profile,
      platform: args.platform,
    });
    if (args.json) {
      printJson({ target: result.target, files: result.files, entries: result.entries, mapping: result.mapping, notes: result.notes });
    } else {
      print(formatExport(result));
    }
    if (!args.quiet) for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
  },
};

export function formatExport(result: ExportResult): string {
  const what = result.target === 'ort-overrides' ? 'tensor override(s) and excluded node(s)' : 'layer(s)';
  const lines = result.files.map((f) => `wrote ${displayName(f, 400)}`);
  lines.push(`${result.entries} ${what}; mapping:`);
  for (const m of result.mapping) lines.push(`  ${mappingLine(m)}`);
  return lines.join('\n');
}
