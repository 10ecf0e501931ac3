import type { TimeReport } from '../app/time.js';
import { displayName } from '../core/closest.js';

/** The timing of the float, QDQ and emitted models in words, as the CLI prints it. */

function ms(v: number): string {
  return v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
}

/** The timings for people: one line per model, its ratio to the float one, and the top nodes. */
export function formatTime(r: TimeReport): string {
  const lines = [
    `${displayName(r.model)} on ${r.inputs.map((i) => `${displayName(i.name)}=${displayName(i.source, 60)}`).join(', ')} (${r.machine})`,
  ];
  const float = r.results.find((x) => x.label === 'float');
  for (const x of r.results) {
    const ratio = float && x !== float ? `, ${(x.medianMs / float.medianMs).toFixed(2)}x the float median` : '';
    lines.push(
      `${x.label}: median ${ms(x.medianMs)}, min ${ms(x.minMs)}, max ${ms(x.maxMs)} over ${x.runs} run(s) after ${x.warmup} warm-up${ratio}`,
    );
    for (const n of x.topNodes ?? []) {
      lines.push(`  ${ms(n.perRunMs).padStart(9)} ${(100 * n.share).toFixed(1).padStart(5)}%  ${displayName(n.node, 50)} (${n.opType})`);
    }
  }
  return lines.join('\n');
}
