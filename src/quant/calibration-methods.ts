import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { TensorStats } from './calibration-stats.js';

/**
 * Calibration methods (DESIGN.md §5): from a tensor's running statistics to the clip range that
 * quantParams turns into a scale and zero point.
 *
 * | method | range |
 * |---|---|
 * | `minmax` | the exact min and max (symmetric: ±max \|x\|) |
 * | `percentile` | symmetric: ±(p-th percentile of \|x\|); asymmetric: [(100−p)-th, p-th percentile of x], so each tail loses (100−p) % and one-signed data gets the same answer either way. Exact (linear interpolation between order statistics, as numpy) while the stats hold every value, else over the histogram with linear interpolation inside a bin |
 * | `entropy` | the threshold t over the \|x\| histogram minimizing KL(P‖Q) (below), range ±t |
 * | `mse` | the threshold t over the \|x\| histogram minimizing the expected squared quantization error, clipping included (below), range ±t |
 *
 * `entropy` and `mse` search one threshold t on the |x| histogram. The number of quantization
 * steps between 0 and t is 2^(bits−1) − 1 (127 for int8) when the range is symmetric or the data
 * has both signs, and 2^bits − 1 (255) when the range is asymmetric and the data one-signed (all
 * ≥ 0, as after a Relu), since the zero point then gives the whole integer range to [0, t].
 * Symmetric ranges are [−t, t]; asymmetric ranges are [max(min, −t), min(max, t)]. Every
 * threshold is capped at max |x|. Data with no finite value has no range: a UserError.
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy' | 'mse';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy', 'mse'];
export const DEFAULT_PERCENTILE = 99.99;

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface RangeOptions {
  /** For `percentile`: in (50, 100]; default 99.99. */
  readonly percentile?: number;
  /** Target integer width; default 8. */
  readonly bits?: 8 | 16;
  /** Whether the range will be used symmetrically; default false. */
  readonly symmetric?: boolean;
}

export function isCalibrationMethod(value: string): value is CalibrationMethod {
  return (CALIBRATION_METHODS as readonly string[]).includes(value);
}

export function deriveRange(stats: TensorStats, method: CalibrationMethod, options: RangeOptions = {}): Range {
  const bits = options.bits ?? 8;
  const symmetric = options.symmetric ?? false;
  if (stats.count === 0) {
    throw new UserError(
      `Tensor '${displayName(stats.name)}' had no finite value in the calibration data (${stats.nanCount} NaN, ${stats.infCount} infinite), so no range can be calibrated for it.`,
    );
  }
  const maxAbs = stats.maxAbs;
  const fromThreshold = (t: number): Range => {
    const c = Math.min(t, maxAbs);
    return symmetric ? { min: -c, max: c } : { min: Math.max(stats.min, -c), max: Math.min(stats.max, c) };
  };
  const oneSigned = stats.min >= 0 || stats.max <= 0;
  const steps = !symmetric && oneSigned ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
  switch (method) {
    case 'minmax':
      return symmetric ? { min: -maxAbs, max: maxAbs } : { min: stats.min, max: stats.max };
    case 'percentile':
      return percentileRange(stats, options.percentile ?? DEFAULT_PERCENTILE, symmetric);
    case 'entropy': {
      // 16 bits give more levels than the histogram has bins: quantizing P is then lossless, so
      // KL is smallest with no clipping at all, which is minmax.
      if (bits === 16) return deriveRange(stats, 'minmax', options);
      const abs = stats.absHistogram();
      const kept = entropyThresholdBins(abs, steps + 1);
      return fromThreshold(kept * stats.binWidth);
    }
    case 'mse': {
      const abs = stats.absHistogram();
      return fromThreshold(mseThreshold(abs, stats.binWidth, steps).threshold);
    }
    default:
      throw new UserError(
        `Unknown calibration method '${displayName(String(method))}'; the methods are ${CALIBRATION_METHODS.join(', ')}.`,
      );
  }
}

function percentileRange(stats: TensorStats, p: number, symmetric: boolean): Range {
  if (!(p > 50 && p <= 100)) throw new UserError(`The calibration percentile must be above 50 and at most 100, not ${p}.`);
  const q = p / 100;
  const exact = stats.exactValues;
  const w = stats.binWidth;
  if (symmetric) {
    const t = exact
      ? exactQuantile(
          exact.map(Math.abs).sort((x, y) => x - y),
          q,
        )
      : Math.min(histogramQuantile(stats.absHistogram(), 0, w, q), stats.maxAbs);
    return { min: -t, max: t };
  }
  if (exact) {
    const sorted = [...exact].sort((x, y) => x - y);
    return { min: exactQuantile(sorted, 1 - q), max: exactQuantile(sorted, q) };
  }
  const lo = -stats.range;
  const clamp = (x: number): number => Math.min(Math.max(x, stats.min), stats.max);
  return { min: clamp(histogramQuantile(stats.histogram, lo, w, 1 - q)), max: clamp(histogramQuantile(stats.histogram, lo, w, q)) };
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default). */
export function exactQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  if (i >= sorted.length - 1) return sorted[sorted.length - 1];
  return sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]);
}

/**
 * The value below which a fraction q of a histogram's mass lies; bin k covers
 * [lo + k·width, lo + (k+1)·width) and its mass is taken as spread evenly across it.
 */
export function histogramQuantile(counts: ArrayLike<number>, lo: number, width: number, q: number): number {
  let total = 0;
  for (let k = 0; k < counts.length; k++) total += counts[k];
  const target = q * total;
  let cumulative = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k];
    if (c > 0 && cumulative + c >= target) return lo + width * (k + (target - cumulative) / c);
    cumulative += c;
  }
  return lo + width * counts.length;
}

/**
 * The entropy (KL-divergence) calibration of TensorRT's INT8 calibrator, as ported by MXNet and
 * onnxruntime, over a histogram of |x|. For each candidate i of kept bins, from `levels` to one
 * past the last non-empty bin:
 * - P = bins 0..i−1, with the mass of the clipped bins i.. added to bin i−1;
 * - Q = bins 0..i−1 (without the clipped mass) merged into `levels` groups of ⌊i/levels⌋ bins
 *   (the last group takes the remainder), each group's mass then spread evenly over the bins
 *   of the group where P is non-zero;
 * - both smoothed (zero bins get ε = 1e-4, taken evenly from the non-zero ones), normalized,
 *   and compared by KL(P‖Q) = Σ p·ln(p/q).
 * Returns the i with the smallest divergence (the first on ties): the threshold is i bin widths.
 * When the data fits in `levels` bins or fewer, nothing is clipped.
 */
export function entropyThresholdBins(abs: ArrayLike<number>, levels: number): number {
  let end = abs.length;
  while (end > 0 && abs[end - 1] === 0) end--;
  if (end <= levels) return Math.max(end, 1);
  const p = new Float64Array(end);
  const q = new Float64Array(end);
  const suffix = new Float64Array(end + 1);
  for (let k = end - 1; k >= 0; k--) suffix[k] = suffix[k + 1] + abs[k];
  let best = end;
  let bestDivergence = Infinity;
  for (let i = levels; i <= end; i++) {
    for (let k = 0; k < i; k++) p[k] = abs[k];
    p[i - 1] += suffix[i];
    const merged = Math.floor(i / levels);
    q.fill(0, 0, i);
    for (let g = 0; g < levels; g++) {
      const start = g * merged;
      const stop = g === levels - 1 ? i : start + merged;
      let mass = 0;
      let nonzero = 0;
      for (let k = start; k < stop; k++) {
        mass += abs[k];
        if (p[k] !== 0) nonzero++;
      }
      if (nonzero === 0) continue;
      const share = mass / nonzero;
      for (let k = start; k < stop; k++) if (p[k] !== 0) q[k] = share;
    }
    const d = klDivergence(p.subarray(0, i), q.subarray(0, i));
    if (d < bestDivergence) {
      bestDivergence = d;
      best = i;
    }
  }
  return best;
}

/**
 * KL(P‖Q) of two unnormalized distributions after the smoothing of entropyThresholdBins;
 * Infinity when either has no mass.
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, eps = 1e-4): number {
  const sp = smooth(p, eps);
  const sq = smooth(q, eps);
  if (!sp || !sq) return Infinity;
  let totalP = 0;
  let totalQ = 0;
  for (let k = 0; k < sp.length; k++) {
    totalP += sp[k];
    totalQ += sq[k];
  }
  let d = 0;
  for (let k = 0; k < sp.length; k++) {
    const pk = sp[k] / totalP;
    if (pk > 0) d += pk * Math.log(pk / (sq[k] / totalQ));
  }
  return d;
}

function smooth(values: ArrayLike<number>, eps: number): Float64Array | null {
  let zeros = 0;
  for (let k = 0; k < values.length; k++) if (values[k] === 0) zeros++;
  const nonzeros = values.length - zeros;
  if (nonzeros === 0) return null;
  const take = (eps * zeros) / nonzeros;
  const out = new Float64Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = values[k] === 0 ? eps : values[k] - take;
  // A non-zero bin smaller than what smoothing takes from it cannot be smoothed (onnxruntime asserts).
  for (let k = 0; k < out.length; k++) if (out[k] <= 0) return null;
  return out;
}

/**
 * The mean squared error of one value x, uniformly distributed in [lo, hi] (0 ≤ lo < hi), after
 * rounding to the grid step·ℤ and clipping at t (t a multiple of step):
 * (1/(hi−lo)) · [∫ r(x)² over x ≤ t + ∫ (x−t)² over x > t], with r(x) = x − step·round(x/step).
 * Uses ∫₀ˣ r² = m·step³/12 + f³/3 where m = round(x/step) and f = x − m·step.
 */
export function expectedSquaredError(lo: number, hi: number, t: number, step: number): number {
  const roundingIntegral = (x: number): number => {
    const m = Math.round(x / step);
    const f = x - m * step;
    return (m * step * step * step) / 12 + (f * f * f) / 3;
  };
  let integral = roundingIntegral(Math.min(hi, t)) - roundingIntegral(Math.min(lo, t));
  if (hi > t) {
    const from = Math.max(lo, t) - t;
    const to = hi - t;
    integral += (to * to * to - from * from * from) / 3;
  }
  return integral / (hi - lo);
}

/**
 * The clip threshold minimizing the expected squared quantization error over a |x| histogram
 * (bin k covers [k·width, (k+1)·width), values spread evenly within a bin): candidates are the
 * bin edges t = k·width for k = 1 .. one past the last non-empty bin, with `steps` grid steps
 * between 0 and t. The error sums count × expectedSquaredError over the bins (clipped bins in
 * closed form from prefix sums). Returns the threshold and its mean squared error per value; the
 * smallest threshold wins ties. Symmetric int8 clips at −t − step on the negative side; that
 * extra level is ignored here.
 */
export function mseThreshold(abs: ArrayLike<number>, width: number, steps: number): { threshold: number; error: number } {
  let end = abs.length;
  while (end > 0 && abs[end - 1] === 0) end--;
  if (end === 0) return { threshold: width, error: 0 };
  // Suffix sums over fully clipped bins: count, count·E[x], count·E[x²].
  const s0 = new Float64Array(end + 1);
  const s1 = new Float64Array(end + 1);
  const s2 = new Float64Array(end + 1);
  let total = 0;
  for (let k = end - 1; k >= 0; k--) {
    const lo = k * width;
    const hi = lo + width;
    const c = abs[k];
    total += c;
    s0[k] = s0[k + 1] + c;
    s1[k] = s1[k + 1] + (c * (lo + hi)) / 2;
    s2[k] = s2[k + 1] + (c * (lo * lo + lo * hi + hi * hi)) / 3;
  }
  let best = { threshold: end * width, error: Infinity };
  for (let k = 1; k <= end; k++) {
    const t = k * width;
    const step = t / steps;
    let sum = s2[k] - 2 * t * s1[k] + t * t * s0[k];
    for (let j = 0; j < k; j++) {
      const c = abs[j];
      if (c !== 0) sum += c * expectedSquaredError(j * width, (j + 1) * width, t, step);
    }
    const error = sum / total;
    if (error < best.error) best = { threshold: t, error };
  }
  return best;
}
