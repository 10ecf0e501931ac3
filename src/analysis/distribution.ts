import type { Tensor } from '../core/tensor.js';
import type { ValueRange } from './metrics-types.js';
import { BLOCK, blockReader } from './tensor-blocks.js';

/** One channel's value ranges on both sides and its own SNR. */
export interface ChannelRange {
  readonly channel: number;
  /** Range of the channel's finite reference values; NaN..NaN when there are none. */
  readonly refMin: number;
  readonly refMax: number;
  /** Range of the channel's finite test values; NaN..NaN when there are none. */
  readonly testMin: number;
  readonly testMax: number;
  /** 10·log10(Σx²/Σ(x−y)²) over the channel's finite pairs: identical +Inf, Σx² = 0 < Σd² −Inf, no pair NaN. */
  readonly snrDb: number;
}

export interface ChannelRanges {
  readonly axis: number;
  /** Channels in the tensor; `ranges` holds the first min(count, MAX_CHANNEL_RANGES). */
  readonly count: number;
  readonly ranges: readonly ChannelRange[];
}

/**
 * Where a tensor's values lie on each side: histograms of the finite reference (float) and test
 * (quant) values over the same bins, and per-channel ranges. Bins split [lo, hi] into equal
 * widths as numpy.histogram(values, bins, range=(lo, hi)) does: edge i = lo + i·(hi − lo)/bins,
 * the last edge hi; a value v falls in bin i when edge i <= v < edge i+1, the last bin includes hi.
 */
export interface ValueDistribution {
  readonly lo: number;
  readonly hi: number;
  /** Finite reference values per bin. */
  readonly ref: readonly number[];
  /** Finite test values per bin. */
  readonly test: readonly number[];
  /** Per channel along axis 1 for tensors of rank >= 2, else null. */
  readonly channels: ChannelRanges | null;
}

export const HISTOGRAM_BINS = 64;
export const MAX_CHANNEL_RANGES = 256;

export interface DistributionOptions {
  /** Bins of both histograms; default HISTOGRAM_BINS. */
  readonly bins?: number;
  /** Channels whose ranges are kept (the first ones); default MAX_CHANNEL_RANGES. */
  readonly maxChannels?: number;
}

/**
 * The value distribution of a compared pair, in one pass over both tensors without copying them
 * (float16, bfloat16 and integer data are decoded a block at a time). `ranges` are the finite
 * ranges computeMetrics measured: the bins cover the float range extended to the quant range,
 * [min(ref.min, test.min), max(ref.max, test.max)] over the sides that have finite values, widened
 * by 0.5 on each side when it is a single value (numpy's rule). NaN and ±Inf are left out of the
 * histograms and the ranges (the metrics count them). Null when neither side has a finite value,
 * or the element counts differ.
 */
export function valueDistribution(
  ref: Tensor,
  test: Tensor,
  ranges: { readonly refRange: ValueRange; readonly testRange: ValueRange },
  options: DistributionOptions = {},
): ValueDistribution | null {
  const n = ref.data.length;
  if (test.data.length !== n) return null;
  const ends = [ranges.refRange.min, ranges.refRange.max, ranges.testRange.min, ranges.testRange.max].filter((v) => Number.isFinite(v));
  if (ends.length === 0) return null;
  let lo = Math.min(...ends);
  let hi = Math.max(...ends);
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const bins = options.bins ?? HISTOGRAM_BINS;
  const edges = new Float64Array(bins + 1);
  const step = (hi - lo) / bins;
  for (let i = 0; i < bins; i++) edges[i] = i * step + lo;
  edges[bins] = hi;
  const scale = bins / (hi - lo);
  const last = bins - 1;
  const refCounts = new Float64Array(bins);
  const testCounts = new Float64Array(bins);
  const dims = ref.dims;
  const channelCount = dims.length >= 2 ? dims[1] : 0;
  const kept = Math.min(channelCount, options.maxChannels ?? MAX_CHANNEL_RANGES);
  let inner = 1;
  for (let k = 2; k < dims.length; k++) inner *= dims[k];
  const stats = new Float64Array(kept * 6).fill(Number.NaN);
  for (let c = 0; c < kept; c++) {
    stats[c * 6 + 4] = 0;
    stats[c * 6 + 5] = 0;
  }
  const paired = new Float64Array(kept);

  const readX = blockReader(ref);
  const readY = blockReader(test);
  for (let s = 0; s < n; s += BLOCK) {
    const e = Math.min(n, s + BLOCK);
    const xa = readX(s, e);
    const ya = readY(s, e);
    const len = e - s;
    let c = channelCount > 0 ? Math.floor(s / inner) % channelCount : 0;
    let left = channelCount > 0 ? inner - (s % inner) : len;
    let i = 0;
    while (i < len) {
      const end = Math.min(len, i + left);
      left -= end - i;
      if (c < kept) {
        const o = c * 6;
        let xmin = stats[o],
          xmax = stats[o + 1],
          ymin = stats[o + 2],
          ymax = stats[o + 3],
          sxx = 0,
          sdd = 0,
          pairs = 0;
        for (; i < end; i++) {
          const x = xa[i];
          const y = ya[i];
          const xf = x - x === 0;
          const yf = y - y === 0;
          if (xf) {
            refCounts[binOf(x, lo, scale, edges, last)]++;
            if (!(x >= xmin)) xmin = x;
            if (!(x <= xmax)) xmax = x;
          }
          if (yf) {
            testCounts[binOf(y, lo, scale, edges, last)]++;
            if (!(y >= ymin)) ymin = y;
            if (!(y <= ymax)) ymax = y;
          }
          if (xf && yf) {
            const d = x - y;
            sxx += x * x;
            sdd += d * d;
            pairs++;
          }
        }
        stats[o] = xmin;
        stats[o + 1] = xmax;
        stats[o + 2] = ymin;
        stats[o + 3] = ymax;
        stats[o + 4] += sxx;
        stats[o + 5] += sdd;
        paired[c] += pairs;
      } else {
        for (; i < end; i++) {
          const x = xa[i];
          const y = ya[i];
          if (x - x === 0) refCounts[binOf(x, lo, scale, edges, last)]++;
          if (y - y === 0) testCounts[binOf(y, lo, scale, edges, last)]++;
        }
      }
      if (channelCount > 0 && left === 0) {
        left = inner;
        c = c + 1 === channelCount ? 0 : c + 1;
      }
    }
  }

  const list: ChannelRange[] = [];
  for (let c = 0; c < kept; c++) {
    const o = c * 6;
    list.push({
      channel: c,
      refMin: stats[o],
      refMax: stats[o + 1],
      testMin: stats[o + 2],
      testMax: stats[o + 3],
      snrDb: paired[c] > 0 ? ratioDb(stats[o + 4], stats[o + 5]) : Number.NaN,
    });
  }
  return {
    lo,
    hi,
    ref: Array.from(refCounts),
    test: Array.from(testCounts),
    channels: channelCount > 0 ? { axis: 1, count: channelCount, ranges: list } : null,
  };
}

/**
 * The bin of a finite v in [lo, hi]. The scaled offset can land one bin off within an ulp of an
 * edge (numpy computes it another way and corrects the same way): the edges decide, so the bin
 * is the one with edges[b] <= v < edges[b + 1], the last bin closed.
 */
function binOf(v: number, lo: number, scale: number, edges: Float64Array, last: number): number {
  let b = ((v - lo) * scale) | 0;
  if (b > last) b = last;
  else if (b < 0) b = 0;
  if (v < edges[b]) return b - 1;
  if (b < last && v >= edges[b + 1]) return b + 1;
  return b;
}

/** 10·log10(signal/noise) with the metrics' rules: noise 0 gives +Inf, signal 0 < noise −Inf. */
function ratioDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}
