import { displayName } from '../core/closest.js';
import { formatDims } from '../core/tensor.js';
import type { AdviceFacts, Observation } from './advisor-context.js';
import { formatMetric, formatNumber, type MetricName, type ValueRange } from './metrics.js';

/** Pieces of the advisor's sentences: names escaped and quoted, numbers in the report's formats. */

/** A tensor or node name, quoted, escaped and cut for one line. */
export function q(name: string): string {
  return `'${displayName(name, 80)}'`;
}

/** A node name as a --precision SPEC: escaped the same way, unquoted. */
export function spec(name: string): string {
  return displayName(name, 80);
}

export function num(value: number): string {
  return formatNumber(value);
}

export function metric(name: MetricName, value: number): string {
  const text = formatMetric(name, value);
  return name === 'snrDb' || name === 'psnrDb' ? (text === 'exact' ? 'exact' : `${text} dB`) : text;
}

export function cosine(value: number): string {
  return formatMetric('cosine', value);
}

export function db(value: number): string {
  return metric('snrDb', value);
}

export function range(r: ValueRange): string {
  return `[${num(r.min)}, ${num(r.max)}]`;
}

/** A share as a percentage with two significant digits (0.0123 → "1.2%"). */
export function percent(share: number): string {
  const p = 100 * share;
  return `${p >= 10 ? p.toFixed(0) : Number(p.toPrecision(2))}%`;
}

/** "'t' (Conv 'n')", or "graph input 't'". */
export function tensorLabel(o: Pick<Observation, 'tensor' | 'node' | 'opType'>): string {
  if (!o.node) return o.opType ? `${q(o.tensor)} (${o.opType})` : q(o.tensor);
  return `${q(o.tensor)} (${o.opType || 'node'} ${q(o.node)})`;
}

export function shape(dims: readonly number[] | undefined): string {
  return dims && dims.length > 0 ? formatDims(dims) : '';
}

/** "a, b and c"; more than `max` items end in "and N more". */
export function list(items: readonly string[], max = items.length): string {
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** A pointer to `quantscope fix` (" (quantscope fix ...)"), left out when the findings end fix's own report. */
export function viaFix(facts: Pick<AdviceFacts, 'use'>, text: string): string {
  return facts.use === 'fix' ? '' : ` (${text})`;
}
