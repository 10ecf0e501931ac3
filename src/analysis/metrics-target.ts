import { closestNames, displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Metrics } from './metrics-types.js';

/** The metrics a threshold or target can be set on, in display order. */
export const METRIC_NAMES = [
  'cosine',
  'snrDb',
  'psnrDb',
  'mse',
  'rmse',
  'mae',
  'maxAbs',
  'relL2',
  'maxRel',
  'meanRel',
  'worstChannelCosine',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

const HIGHER_IS_BETTER: ReadonlySet<MetricName> = new Set(['cosine', 'snrDb', 'psnrDb', 'worstChannelCosine']);

/** Short spellings accepted on the command line beside the names themselves (case-insensitive). */
const ALIASES: Readonly<Record<string, MetricName>> = {
  cos: 'cosine',
  snr: 'snrDb',
  psnr: 'psnrDb',
  rel: 'relL2',
  rell2: 'relL2',
  worst: 'worstChannelCosine',
};

export interface Target {
  readonly metric: MetricName;
  readonly op: '>=' | '<=';
  readonly value: number;
}

export function isMetricName(text: string): text is MetricName {
  return (METRIC_NAMES as readonly string[]).includes(text);
}

/** Whether larger values of the metric mean a closer match (cosine, SNR, PSNR), else smaller. */
export function higherIsBetter(name: MetricName): boolean {
  return HIGHER_IS_BETTER.has(name);
}

/** A metric's value; worstChannelCosine falls back to the tensor-wide cosine when there is no channel axis. */
export function metricValue(m: Metrics, name: MetricName): number {
  if (name === 'worstChannelCosine') return m.worstChannelCosine ?? m.cosine;
  return m[name];
}

/** Resolves a user-given metric name (exact, case-insensitive, or an alias such as `snr`); undefined if unknown. */
export function resolveMetricName(text: string): MetricName | undefined {
  const lower = text.trim().toLowerCase();
  return METRIC_NAMES.find((n) => n.toLowerCase() === lower) ?? ALIASES[lower];
}

/**
 * Parses a target such as `cosine>=0.999`, `psnrDb>=45`, `snr>=30` or `mse<=1e-3`. The operator
 * must point the metric's better way (`>=` for cosine, SNR, PSNR; `<=` for the errors).
 * Throws a UserError quoting the text (and the flag, when given) on anything else.
 */
export function parseTarget(text: string, flag = 'target'): Target {
  const shown = displayName(text, 60);
  const match = /^\s*([A-Za-z][A-Za-z0-9]*)\s*(>=|<=)\s*(\S+)\s*$/.exec(text);
  if (!match) {
    throw new UserError(
      `The ${flag} '${shown}' is not of the form METRIC>=VALUE or METRIC<=VALUE (for example cosine>=0.999 or mse<=1e-3).`,
    );
  }
  const [, name, op, valueText] = match;
  const metric = resolveMetricName(name);
  if (!metric) {
    const near = closestNames(name, METRIC_NAMES, 2);
    throw new UserError(
      `The ${flag} '${shown}' names no known metric '${displayName(name, 40)}'; did you mean ${near.join(' or ')}? Known: ${METRIC_NAMES.join(', ')}.`,
    );
  }
  const value = Number(valueText);
  if (!Number.isFinite(value) || valueText.trim() === '') {
    throw new UserError(`The ${flag} '${shown}' has '${displayName(valueText, 40)}' where a finite number belongs.`);
  }
  const want = higherIsBetter(metric) ? '>=' : '<=';
  if (op !== want) {
    throw new UserError(`The ${flag} '${shown}' should use ${want}: ${higherIsBetter(metric) ? 'higher' : 'lower'} ${metric} is better.`);
  }
  return { metric, op: op as Target['op'], value };
}

/** The target as text, in the form parseTarget reads. */
export function formatTarget(t: Target): string {
  return `${t.metric}${t.op}${t.value}`;
}

/** Whether the value satisfies `op threshold` in the metric's better direction (NaN never does). */
export function valueMeets(name: MetricName, value: number, threshold: number): boolean {
  return higherIsBetter(name) ? value >= threshold : value <= threshold;
}

/** True when the metrics meet the target and y has no NaN/Inf where x is finite. */
export function meetsTarget(m: Metrics, t: Target): boolean {
  if (m.nonFiniteIntroduced > 0) return false;
  const v = metricValue(m, t.metric);
  return t.op === '>=' ? v >= t.value : v <= t.value;
}

/**
 * A metric value for people: cosine with 6 decimals, dB with 2 (+Inf shown as "exact"), errors in 4
 * significant digits (exponent form outside 1e-3..1e5); null as "-", NaN as "NaN", ±Inf as "inf"/"-inf".
 */
export function formatMetric(name: MetricName, value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (Number.isNaN(value)) return 'NaN';
  if (name === 'snrDb' || name === 'psnrDb') {
    if (value === Infinity) return 'exact';
    if (value === -Infinity) return '-inf';
    return value.toFixed(2);
  }
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (name === 'cosine' || name === 'worstChannelCosine') return value.toFixed(6);
  return formatNumber(value);
}

/** A plain number in 4 significant digits (whole numbers from 1000 up), exponent form outside 1e-3..1e5. */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'inf' : '-inf';
  const a = Math.abs(value);
  if (a >= 1e3 && a < 1e5) return value.toFixed(0);
  if (a >= 1e-3 && a < 1e3) return String(Number(value.toPrecision(4)));
  return value.toExponential(2);
}
