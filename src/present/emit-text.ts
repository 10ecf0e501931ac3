import type { EmitResult } from '../app/emit/emit.js';
import { displayName } from '../core/closest.js';

/** What emit wrote and verified, in words, as the CLI prints it. */

export function formatEmit(result: EmitResult): string {
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
