import { displayName } from '../core/closest.js';
import { formatDims } from '../core/tensor.js';
import type { AdviceFacts, Observation } from './advisor-context.js';
import { formatMetric, formatNumber, type MetricName, type ValueRange } from './metrics.js';

/** Pieces of the advisor's sentences: names escaped and quoted, numbers in the report's formats. */

/** A tensor or node name, quoted, escaped and cut for one line. */
export function q(name: string): string {
  return `'${displayName(name, 80)}'`;
}

/** Names the selection language takes as they are, and a shell passes unquoted (not starting with '-', which a parser reads as a flag). */
const PLAIN_NAME = /^[A-Za-z0-9_./][A-Za-z0-9_./-]*$/;

/**
 * A name the selection language takes as itself once shell-quoted: no comma (a list), no glob
 * character, no control character, no prefix the language reserves. It then selects exactly that
 * node or tensor, graph inputs included.
 */
function exactName(name: string): boolean {
  return name !== '' && !/[,*?\u0000-\u001f\u007f]/.test(name) && !/^(@|op:|re:|-)/.test(name);
}

/**
 * A term of the selection language that selects exactly this name, ready for a shell: the name
 * itself when it is plain, the name in single quotes when the language takes it as it is, else an
 * anchored regular expression (`re:^…$`, every character other than letters, digits and _ escaped
 * as \xHH or \uHHHH) in single quotes. So a suggestion holding it can be pasted and run,
 * whatever the name holds.
 */
export function spec(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  return shellQuote(exactName(name) ? name : exactPattern(name));
}

/** `--precision SPEC=PREC` for one node, quoted for a shell when the name needs it. */
export function precisionFlag(node: string, precision: string): string {
  if (PLAIN_NAME.test(node)) return `--precision ${node}=${precision}`;
  return `--precision ${shellQuote(`${exactName(node) ? node : exactPattern(node)}=${precision}`)}`;
}

function exactPattern(name: string): string {
  let body = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    const code = name.charCodeAt(i);
    // Letters, digits and _ as they are; every other UTF-16 unit as \xHH or \uHHHH, which a
    // RegExp reads the same with or without the u flag.
    body += /[A-Za-z0-9_]/.test(ch)
      ? ch
      : code < 0x100
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `re:^${body}$`;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
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
