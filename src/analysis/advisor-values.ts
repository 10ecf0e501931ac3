import { isNumeric, toFloat32, type Tensor } from '../core/tensor.js';
import type { ValueStats } from './advisor-context.js';

/**
 * The few reference-value facts the advisor needs beyond the metrics, each in one float64 pass:
 * per-channel peaks (which channel owns a per-tensor range) and the mean and spread of an output
 * (how much of it is a common offset). Non-finite values are skipped.
 */

/**
 * Peak |x| of each channel along axis 1 (rank >= 2); null for rank < 2, no elements or
 * non-numeric data. A channel holding only NaN/Inf has peak 0.
 */
export function channelPeaks(t: Tensor): Float64Array | null {
  if (t.dims.length < 2 || t.data.length === 0 || !isNumeric(t)) return null;
  const channels = t.dims[1];
  if (channels < 1) return null;
  let inner = 1;
  for (let k = 2; k < t.dims.length; k++) inner *= t.dims[k];
  const x = toFloat32(t);
  const peaks = new Float64Array(channels);
  for (let start = 0, c = 0; start < x.length; start += inner, c = c + 1 === channels ? 0 : c + 1) {
    let peak = peaks[c];
    const end = start + inner;
    for (let i = start; i < end; i++) {
      const a = Math.abs(x[i]);
      // NaN fails the comparison; Infinity is left out explicitly.
      if (a > peak && a !== Infinity) peak = a;
    }
    peaks[c] = peak;
  }
  return peaks;
}

/** Mean and population standard deviation of the finite values (Welford); NaN for none. */
export function valueStats(t: Tensor): ValueStats {
  if (!isNumeric(t)) return { mean: Number.NaN, std: Number.NaN };
  const x = toFloat32(t);
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v - v !== 0) continue;
    n++;
    const d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
  }
  return n === 0 ? { mean: Number.NaN, std: Number.NaN } : { mean, std: Math.sqrt(m2 / n) };
}

/**
 * The largest peak, its channel, and the median of the peaks: the lower median for an even count,
 * so that half the channels large and half small (a Concat of two branches) reads as an outlier.
 */
export function peakSummary(peaks: Float64Array): { channel: number; peak: number; median: number } {
  let channel = 0;
  for (let c = 1; c < peaks.length; c++) if (peaks[c] > peaks[channel]) channel = c;
  const sorted = Float64Array.from(peaks).sort();
  return { channel, peak: peaks[channel], median: sorted[Math.floor((sorted.length - 1) / 2)] };
}
