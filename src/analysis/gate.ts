import { UserError } from '../core/errors.js';
import type { Metrics } from './metrics.js';
import { formatTarget, higherIsBetter, metricValue, parseTarget, type MetricName, type Target } from './metrics-target.js';

/**
 * The default quality gate (DESIGN.md §5), one for compare, bisect, fix, the TUI and the demo:
 *
 * - every tensor along the graph passes at SNR >= 30 dB: scale-free, so a tensor with a large
 *   peak cannot "pass" with more noise than its consumer (a per-tensor PSNR can);
 * - every graph output must also reach PSNR >= 40 dB, the peak given with `--peak` (255 for 8-bit
 *   images) or max |x| of the float output. 40 dB is where 8-bit image codecs count as visually
 *   lossless; udnie and candy under generic-int8 reach 39.5 and 35.5 dB and look off.
 *
 * What the 30 dB rests on (measured with `compare`): the demo model's tensors before its planted
 * source are at 31.8 dB or better and the source at 21.9 dB; the INT8 plans of the convnet
 * fixtures stay at 36.5 dB or better everywhere; udnie's and candy's INT8 intermediates fall to
 * 22 and 18 dB. A healthy model (output SNR > 60 dB) passes both gates: with the peak at max |x|,
 * PSNR is never below SNR.
 *
 * A goal is a list of conditions that must all hold (`snrDb>=30,psnrDb>=40`); its margin is how
 * far the worst condition is from its threshold in dB of error power, so conditions on different
 * metrics compare: for SNR and PSNR the difference in dB, for mse 10·log10(T/v), for the other
 * errors 20·log10(T/v) (amplitudes), for the cosines 10·log10((1−T)/(1−v)) (1 − cosine grows
 * with the error power). A search along the graph turns the goal of a failing output into the
 * SNR that output would need (its SNR minus its margin): exact for SNR and PSNR conditions.
 */

export const DEFAULT_TENSOR_SNR_DB = 30;
export const DEFAULT_OUTPUT_PSNR_DB = 40;

/** The outputs' default goal as `--target` text. */
export const DEFAULT_GOAL = `snrDb>=${DEFAULT_TENSOR_SNR_DB},psnrDb>=${DEFAULT_OUTPUT_PSNR_DB}`;

/** A goal: conditions that must all hold, and the peak its PSNR is taken at (null: max |x| of the float tensor). */
export interface Goal {
  readonly targets: readonly Target[];
  readonly peak: number | null;
}

/** Parses `METRIC>=X[,METRIC>=X...]`; throws a UserError naming the flag on anything else. */
export function parseGoal(text: string, flag = 'target', peak: number | null = null): Goal {
  checkPeak(peak);
  const parts = text.split(',');
  if (parts.some((p) => p.trim() === ''))
    throw new UserError(
      `The ${flag} '${text}' has an empty condition; write conditions as METRIC>=X joined by commas (for example ${DEFAULT_GOAL}).`,
    );
  return { targets: parts.map((p) => parseTarget(p, flag)), peak };
}

/** The goal as text, in the form parseGoal reads. */
export function formatGoal(goal: Goal): string {
  return goal.targets.map(formatTarget).join(',');
}

/** Refuses a peak that is not a positive finite number (`--peak`). */
export function checkPeak(peak: number | null | undefined): void {
  if (peak !== null && peak !== undefined && !(Number.isFinite(peak) && peak > 0)) {
    throw new UserError(`--peak must be a positive number (255 for 8-bit images), not ${peak}.`);
  }
}

/** PSNR at a peak, from the mse: 10·log10(peak²/mse); null peak: the metrics' own (max |x|). */
export function psnrAt(m: Metrics, peak: number | null): number {
  if (peak === null) return m.psnrDb;
  if (m.mse === 0) return Infinity;
  return Number.isNaN(m.mse) ? Number.NaN : 10 * Math.log10((peak * peak) / m.mse);
}

/** A condition's metric value, PSNR at the goal's peak. */
export function conditionValue(m: Metrics, t: Target, peak: number | null): number {
  return t.metric === 'psnrDb' ? psnrAt(m, peak) : metricValue(m, t.metric);
}

const POWER_METRICS: ReadonlySet<MetricName> = new Set(['mse']);

/** How far a value is from a condition's threshold in dB of error power (see the module comment); NaN is −∞. */
export function marginDb(metric: MetricName, value: number, threshold: number): number {
  if (Number.isNaN(value)) return -Infinity;
  if (metric === 'snrDb' || metric === 'psnrDb') return value - threshold;
  if (metric === 'cosine' || metric === 'worstChannelCosine') return ratioDb(1 - threshold, 1 - value, 10);
  return ratioDb(threshold, value, POWER_METRICS.has(metric) ? 10 : 20);
}

function ratioDb(allowed: number, actual: number, factor: number): number {
  if (actual <= 0) return allowed <= 0 && actual === allowed ? 0 : Infinity;
  if (allowed <= 0) return -Infinity;
  return factor * Math.log10(allowed / actual);
}

/** The condition furthest from holding, with its value and margin; NaN/Inf introduced is a margin of −∞. */
export interface Binding {
  readonly metric: MetricName;
  readonly value: number;
  readonly margin: number;
}

export function bindingCondition(m: Metrics, goal: Goal): Binding {
  let worst: Binding | null = null;
  for (const t of goal.targets) {
    const value = conditionValue(m, t, goal.peak);
    const margin = m.nonFiniteIntroduced > 0 ? -Infinity : marginDb(t.metric, value, t.value);
    if (worst === null || margin < worst.margin) worst = { metric: t.metric, value, margin };
  }
  if (worst === null) throw new UserError('A target needs at least one condition.');
  return worst;
}

/** Whether every condition holds (and y has no NaN/Inf where x is finite). */
export function meetsGoal(m: Metrics, goal: Goal): boolean {
  if (m.nonFiniteIntroduced > 0) return false;
  return goal.targets.every((t) => {
    const v = conditionValue(m, t, goal.peak);
    return higherIsBetter(t.metric) ? v >= t.value : v <= t.value;
  });
}

/**
 * The SNR a tensor would need to meet the goal: its SNR minus the binding condition's margin
 * (exact for SNR and PSNR conditions, where the two differ by a constant of the reference).
 * NaN when the tensor's SNR is unknown or infinite.
 */
export function requiredSnrDb(m: Metrics, goal: Goal): number {
  const b = bindingCondition(m, goal);
  if (!Number.isFinite(m.snrDb) || !Number.isFinite(b.margin)) return Number.NaN;
  return m.snrDb - b.margin;
}
