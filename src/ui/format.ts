import type { Dim } from '../core/graph.js';
import { valueMeets, type MetricName } from '../analysis/metrics-target.js';

/**
 * Text forms of the numbers the screens show. Pure functions of their arguments, so the
 * end-to-end test can format `compare --json` values the same way and compare strings.
 */

/** Short column labels for the metrics. */
export const METRIC_LABELS: Readonly<Record<MetricName, string>> = {
  cosine: 'cos',
  snrDb: 'SNR dB',
  psnrDb: 'PSNR dB',
  mse: 'MSE',
  rmse: 'RMSE',
  mae: 'MAE',
  maxAbs: 'max|d|',
  relL2: 'relL2',
  maxRel: 'maxRel',
  meanRel: 'meanRel',
  worstChannelCosine: 'worst ch',
};

function isCosineLike(metric: MetricName): boolean {
  return metric === 'cosine' || metric === 'worstChannelCosine';
}

/**
 * A metric value in at most 9 characters: cosines with 6 decimals, decibels with 1 (+Inf as
 * "exact"), everything else with 3 significant digits. NaN shows as "NaN", null/undefined as "—".
 */
export function formatMetric(metric: MetricName, value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (metric === 'snrDb' || metric === 'psnrDb') {
    if (value === Infinity) return 'exact';
    if (value === -Infinity) return '-inf';
    return value.toFixed(1);
  }
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (isCosineLike(metric)) return value.toFixed(6);
  return formatNumber(value);
}

/** 3 significant digits; exponent form outside 1e-3..1e5. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return '0';
  const a = Math.abs(value);
  if (a >= 1e-3 && a < 1e5) return String(Number(value.toPrecision(3)));
  return value.toExponential(2);
}

/** `1x32x720x720`; `?` for unknown dims, `?` alone for an unknown rank, `scalar` for rank 0. */
export function formatShape(shape: readonly Dim[] | null | undefined): string {
  if (!shape) return '?';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (d === null ? '?' : String(d))).join('x');
}

/** A ratio in 0..1 as a percentage with up to 2 decimals. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '—';
  if (Number.isNaN(ratio)) return 'NaN';
  const p = ratio * 100;
  if (p === 0) return '0%';
  if (p < 0.01) return '<0.01%';
  return `${Number(p.toFixed(2))}%`;
}

/** Milliseconds as `850 ms`, `12.3 s` or `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
}

/** Cuts text to `width` characters with an ellipsis (code points; names are already escaped). */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width === 1) return '…';
  return `${chars.slice(0, width - 1).join('')}…`;
}

/** Cuts a path from the left so its end (the file name) stays visible. */
export function truncateLeft(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  return `…${chars.slice(chars.length - width + 1).join('')}`;
}

/**
 * Text from elsewhere (an error message, a log line) made safe for one terminal line: control
 * characters become `\xNN`. Unlike displayName it leaves backslashes alone, because messages
 * already carry names escaped by displayName.
 */
export function safeText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\x80-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A metric value with as many more digits as it takes for the text to fall on the same side of
 * the threshold as the value: 0.9994996 against ≥ 0.9995 shows `0.9994996`, not `0.999500`
 * (which reads as passing); 39.96 dB against ≥ 40 shows `39.96`. Otherwise as formatMetric.
 */
export function formatAgainst(metric: MetricName, value: number | null | undefined, threshold: number): string {
  let text = formatMetric(metric, value);
  if (value === null || value === undefined || !Number.isFinite(value)) return text;
  const truth = valueMeets(metric, value, threshold);
  for (let extra = 1; extra <= 6; extra++) {
    const shown = Number(text);
    if (!Number.isFinite(shown) || valueMeets(metric, shown, threshold) === truth) return text;
    if (metric === 'cosine' || metric === 'worstChannelCosine') text = value.toFixed(6 + extra);
    else if (metric === 'snrDb' || metric === 'psnrDb') text = value.toFixed(1 + extra);
    else text = String(Number(value.toPrecision(3 + extra)));
  }
  return text;
}
