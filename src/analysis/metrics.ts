import { dtypeInfo } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { formatDims, type Tensor } from '../core/tensor.js';
import { samplePercentiles } from './metrics-sample.js';
import { BLOCK, blockReader, type Block } from './tensor-blocks.js';
import type { Metrics, ValueRange } from './metrics-types.js';

export * from './metrics-target.js';
export type { ErrorPercentiles, Metrics, ValueRange } from './metrics-types.js';
export { sampleIndices } from './metrics-sample.js';

/** Largest finite float16 value; |x| above it overflows to infinity in fp16 storage. */
export const FP16_MAX = 65504;

export interface MetricOptions {
  /** Peak for psnrDb; default max|x| over the finite reference values (255 suits 8-bit images). */
  readonly peak?: number;
  /** ε in |x−y| / (|x| + ε) for maxRel and meanRel; default 1e-6, must be > 0. */
  readonly epsilon?: number;
  /** Axis of the per-channel cosine; default 1 when rank >= 2, else none. Negative counts from the end; null turns it off. */
  readonly channelAxis?: number | null;
  /** Elements sampled (evenly strided) for the error percentiles; default 4096. */
  readonly sampleSize?: number;
  /** The calibrated range of a quantized tensor; enables clipRatio. */
  readonly calibratedRange?: { readonly min: number; readonly max: number };
  /** The plan stores this tensor in fp16; enables fp16Overflow. */
  readonly fp16?: boolean;
}

/** True when y has NaN or Inf where x is finite: the tensor fails whatever its other metrics say. */
export function hasNonFiniteFailure(m: Metrics): boolean {
  return m.nonFiniteIntroduced > 0;
}

/** Throws a UserError naming both shapes when the element counts differ; the caller names the tensor. */
export function checkComparable(ref: Tensor, test: Tensor): void {
  for (const t of [ref, test]) {
    if (!dtypeInfo(t.dtype).numeric) {
      throw new UserError(`A ${t.dtype} tensor of shape ${formatDims(t.dims)} cannot be compared numerically.`);
    }
  }
  if (ref.data.length !== test.data.length) {
    throw new UserError(
      `Shapes differ: reference ${formatDims(ref.dims)} has ${ref.data.length} elements, test ${formatDims(test.dims)} has ${test.data.length}.`,
    );
  }
}

/** Running sums of one pass; every field is float64. */
interface Acc {
  sxy: number;
  sxx: number;
  syy: number;
  sdd: number;
  sad: number;
  sumRel: number;
  maxRel: number;
  maxAbs: number;
  maxAt: number;
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
  compared: number;
  nanX: number;
  nanY: number;
  infX: number;
  infY: number;
  introduced: number;
  clipped: number;
  over16: number;
}

interface Channels {
  readonly count: number;
  /** Elements per channel run (product of the dims after the channel axis). */
  readonly inner: number;
  readonly xy: Float64Array;
  readonly xx: Float64Array;
  readonly yy: Float64Array;
}

const DEFAULT_EPSILON = 1e-6;
const DEFAULT_SAMPLE = 4096;

/**
 * Compares a reference x with a test y in one float64 pass over the data (any numeric dtypes;
 * float16 and bfloat16 are decoded; same element count required, coordinates and channels follow
 * the reference's dims). With n the number of compared pairs and d = x − y:
 *
 * - cosine = Σxy / (‖x‖‖y‖), clamped to [−1, 1] (exactly 1 when Σxy = Σx² = Σy²); both all-zero: 1;
 *   exactly one all-zero: 0.
 * - mse = Σd²/n, rmse = √mse, mae = Σ|d|/n, maxAbs = max|d| with its coordinates.
 * - relL2 = ‖d‖/‖x‖; ‖x‖ = 0: 0 when ‖d‖ = 0, else +Inf.
 * - maxRel, meanRel: max and mean of |d| / (|x| + ε), ε = options.epsilon (default 1e-6).
 * - snrDb = 10·log10(Σx²/Σd²); Σd² = 0 (identical): +Inf; Σx² = 0 < Σd²: −Inf.
 * - psnrDb = 10·log10(peak²/mse), peak = options.peak or max|x|; mse = 0: +Inf; peak = 0 < mse: −Inf.
 * - worstChannelCosine: the minimum per-channel cosine over the channel axis (same zero rules), and
 *   which channel; null when the tensor has no channel axis or no elements.
 * - NaN and ±Inf are counted on each side (nanRef, infRef, nanTest, infTest) and the pair is left
 *   out of every sum, mean and percentile; `nonFiniteIntroduced` counts pairs where x is finite and
 *   y is not, and `hasNonFiniteFailure` fails such a tensor. A non-finite x with any y is not a
 *   failure of the test side (the reference itself is broken; its counts show it).
 * - refRange, testRange, clipRatio and fp16Overflow look at every finite value of their side,
 *   paired or not. clipRatio = (elements of x below min or above max of options.calibratedRange,
 *   ±Inf included) / count; null without a range. fp16Overflow, when options.fp16 (else null),
 *   counts the elements that overflowed fp16: finite x with |x| > 65504, or finite x whose y is
 *   ±Inf (an fp16 accumulation overflowed on the way, though x itself fits).
 * - errorPercentiles: p50/p90/p99 (and p999 from 1000 values up) of |d| over a deterministic
 *   sample of options.sampleSize evenly strided elements (all elements when fewer).
 * - Empty tensors (a zero dim): count 0, cosine 1, every error 0, snr/psnr +Inf, maxAbsIndex [].
 * - Tensors with elements but no finite pair to compare (all NaN or ±Inf on one side or both):
 *   cosine, every error, snr and psnr (and the worst channel's cosine) are NaN, maxAbsIndex []:
 *   nothing was measured, so nothing may look exact, and the tensor fails every threshold.
 */
export function computeMetrics(ref: Tensor, test: Tensor, options: MetricOptions = {}): Metrics {
  checkComparable(ref, test);
  const epsilon = options.epsilon ?? DEFAULT_EPSILON;
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new UserError(`The metric epsilon must be a positive number, got ${epsilon}.`);
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE;
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1)
    throw new UserError(`The percentile sample size must be a positive integer, got ${sampleSize}.`);
  if (options.peak !== undefined && !(options.peak > 0 && Number.isFinite(options.peak))) {
    throw new UserError(`The PSNR peak must be a positive number, got ${options.peak}.`);
  }
  const range = options.calibratedRange;
  if (range && !(range.min <= range.max))
    throw new UserError(`The calibrated range [${range.min}, ${range.max}] is empty or not a number.`);

  const n = ref.data.length;
  const channels = channelLayout(ref.dims, options.channelAxis, n);
  const acc: Acc = {
    sxy: 0,
    sxx: 0,
    syy: 0,
    sdd: 0,
    sad: 0,
    sumRel: 0,
    maxRel: 0,
    maxAbs: -1,
    maxAt: -1,
    xmin: Infinity,
    xmax: -Infinity,
    ymin: Infinity,
    ymax: -Infinity,
    compared: 0,
    nanX: 0,
    nanY: 0,
    infX: 0,
    infY: 0,
    introduced: 0,
    clipped: 0,
    over16: 0,
  };
  const readX = blockReader(ref);
  const readY = blockReader(test);
  const lo = range ? range.min : -Infinity;
  const hi = range ? range.max : Infinity;
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK);
    accumulateBlock(acc, readX(s, e), readY(s, e), e - s, s, channels, epsilon, lo, hi);
  }

  const m = acc.compared;
  const unmeasured = n > 0 && m === 0;
  const cosine = cosineOf(acc.sxy, acc.sxx, acc.syy);
  const mse = m > 0 ? acc.sdd / m : 0;
  const peakAbs = Math.max(Math.abs(finiteOr(acc.xmin, 0)), Math.abs(finiteOr(acc.xmax, 0)));
  const peak = options.peak ?? peakAbs;
  let worstChannelCosine: number | null = null;
  let worstChannel: number | null = null;
  if (channels) {
    for (let c = 0; c < channels.count; c++) {
      const cc = cosineOf(channels.xy[c], channels.xx[c], channels.yy[c]);
      if (worstChannelCosine === null || cc < worstChannelCosine) {
        worstChannelCosine = cc;
        worstChannel = c;
      }
    }
  }
  const metrics: Metrics = {
    cosine,
    mse,
    rmse: Math.sqrt(mse),
    mae: m > 0 ? acc.sad / m : 0,
    maxAbs: acc.maxAt >= 0 ? acc.maxAbs : 0,
    maxAbsIndex: acc.maxAt >= 0 ? unravel(acc.maxAt, ref.dims) : [],
    relL2: acc.sxx > 0 ? Math.sqrt(acc.sdd) / Math.sqrt(acc.sxx) : acc.sdd > 0 ? Infinity : 0,
    maxRel: acc.maxRel,
    meanRel: m > 0 ? acc.sumRel / m : 0,
    snrDb: ratioDb(acc.sxx, acc.sdd),
    psnrDb: ratioDb(peak * peak, mse),
    worstChannelCosine,
    worstChannel,
    nanRef: acc.nanX,
    nanTest: acc.nanY,
    infRef: acc.infX,
    infTest: acc.infY,
    nonFiniteIntroduced: acc.introduced,
    clipRatio: range ? (n > 0 ? acc.clipped / n : 0) : null,
    fp16Overflow: options.fp16 ? acc.over16 : null,
    errorPercentiles: samplePercentiles(ref, test, sampleSize),
    refRange: rangeOf(acc.xmin, acc.xmax),
    testRange: rangeOf(acc.ymin, acc.ymax),
    count: n,
    compared: m,
  };
  return unmeasured ? unmeasuredMetrics(metrics) : metrics;
}

/** x·y/(‖x‖‖y‖) clamped to [−1, 1]; both norms zero: 1; one zero: 0. */
function cosineOf(xy: number, xx: number, yy: number): number {
  if (xx === 0 && yy === 0) return 1;
  if (xx === 0 || yy === 0) return 0;
  // Σxy = Σx² = Σy² means the cosine is exactly 1 (identical tensors): say so instead of 1 − ulp.
  if (xy === xx && xx === yy) return 1;
  const p = xx * yy;
  const c = xy / (p > 0 && p < Infinity ? Math.sqrt(p) : Math.sqrt(xx) * Math.sqrt(yy));
  return c > 1 ? 1 : c < -1 ? -1 : c;
}

/** The metrics of a tensor with no finite pair (see computeMetrics): every measure NaN, the counts as they are. */
function unmeasuredMetrics(m: Metrics): Metrics {
  const nan = Number.NaN;
  return {
    ...m,
    cosine: nan,
    mse: nan,
    rmse: nan,
    mae: nan,
    maxAbs: nan,
    maxAbsIndex: [],
    relL2: nan,
    maxRel: nan,
    meanRel: nan,
    snrDb: nan,
    psnrDb: nan,
    worstChannelCosine: m.worstChannelCosine === null ? null : nan,
  };
}

/** 10·log10(signal/noise): noise 0 gives +Inf (even with no signal), signal 0 < noise gives −Inf. */
function ratioDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}

function finiteOr(v: number, fallback: number): number {
  return Number.isFinite(v) ? v : fallback;
}

function rangeOf(min: number, max: number): ValueRange {
  return min <= max ? { min, max } : { min: Number.NaN, max: Number.NaN };
}

function channelLayout(dims: readonly number[], axisOption: number | null | undefined, n: number): Channels | null {
  if (axisOption === null || n === 0) return null;
  if (axisOption === undefined && dims.length < 2) return null;
  let axis = axisOption ?? 1;
  if (!Number.isInteger(axis) || axis < -dims.length || axis >= dims.length) {
    throw new UserError(`Channel axis ${axisOption} is out of range for shape ${formatDims(dims)}.`);
  }
  if (axis < 0) axis += dims.length;
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i];
  const count = dims[axis];
  return { count, inner, xy: new Float64Array(count), xx: new Float64Array(count), yy: new Float64Array(count) };
}

/** Adds elements [0, len) of one block (global offset `base`) to the running sums. */
function accumulateBlock(
  acc: Acc,
  xa: Block,
  ya: Block,
  len: number,
  base: number,
  ch: Channels | null,
  eps: number,
  lo: number,
  hi: number,
): void {
  let maxAbs = acc.maxAbs;
  let maxAt = acc.maxAt;
  let maxRel = acc.maxRel;
  let xmin = acc.xmin,
    xmax = acc.xmax,
    ymin = acc.ymin,
    ymax = acc.ymax;
  let clipped = 0,
    over16 = 0,
    compared = 0,
    sad = 0,
    sdd = 0,
    sumRel = 0;
  let txy = 0,
    txx = 0,
    tyy = 0;
  // The channel of element `base` and how many elements remain in its run.
  let c = ch ? Math.floor(base / ch.inner) % ch.count : 0;
  let left = ch ? ch.inner - (base % ch.inner) : len;
  let i = 0;
  while (i < len) {
    // One run: the elements of this block that share a channel.
    const end = Math.min(len, i + left);
    left -= end - i;
    let sxy = 0,
      sxx = 0,
      syy = 0;
    for (; i < end; i++) {
      const x = xa[i];
      const y = ya[i];
      const d = x - y;
      if (d - d !== 0) {
        // Some side is NaN or ±Inf (or d overflowed for float64 data): classify off the hot path.
        const xFinite = x - x === 0;
        const yFinite = y - y === 0;
        if (!(xFinite && yFinite)) {
          if (xFinite) {
            if (x < xmin) xmin = x;
            if (x > xmax) xmax = x;
            if (x < lo || x > hi) clipped++;
            // Beyond fp16's range, or a finite value the test side turned into ±Inf: an overflow.
            if (Math.abs(x) > FP16_MAX || y === Infinity || y === -Infinity) over16++;
            acc.introduced++;
          } else if (x !== x) acc.nanX++;
          else {
            acc.infX++;
            clipped++;
          }
          if (yFinite) {
            if (y < ymin) ymin = y;
            if (y > ymax) ymax = y;
          } else if (y !== y) acc.nanY++;
          else acc.infY++;
          continue;
        }
      }
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
      const ad = Math.abs(d);
      sdd += d * d;
      sad += ad;
      compared++;
      if (ad > maxAbs) {
        maxAbs = ad;
        maxAt = base + i;
      }
      const ax = Math.abs(x);
      const rel = ad / (ax + eps);
      sumRel += rel;
      if (rel > maxRel) maxRel = rel;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
      if (ax > FP16_MAX) over16++;
      if (x < lo || x > hi) clipped++;
    }
    txy += sxy;
    txx += sxx;
    tyy += syy;
    if (ch) {
      ch.xy[c] += sxy;
      ch.xx[c] += sxx;
      ch.yy[c] += syy;
      if (left === 0) {
        left = ch.inner;
        c = c + 1 === ch.count ? 0 : c + 1;
      }
    }
  }
  acc.sxy += txy;
  acc.sxx += txx;
  acc.syy += tyy;
  acc.maxAbs = maxAbs;
  acc.maxAt = maxAt;
  acc.maxRel = maxRel;
  acc.xmin = xmin;
  acc.xmax = xmax;
  acc.ymin = ymin;
  acc.ymax = ymax;
  acc.clipped += clipped;
  acc.over16 += over16;
  acc.compared += compared;
  acc.sad += sad;
  acc.sdd += sdd;
  acc.sumRel += sumRel;
}

/** Row-major coordinates of a flat index. */
export function unravel(flat: number, dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length);
  let r = flat;
  for (let k = dims.length - 1; k >= 0; k--) {
    const d = dims[k];
    out[k] = r % d;
    r = Math.floor(r / d);
  }
  return out;
}
