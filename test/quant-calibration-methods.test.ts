import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import {
  deriveRange,
  entropyThresholdBins,
  exactQuantile,
  expectedSquaredError,
  histogramQuantile,
  klDivergence,
  mseThreshold,
} from '../src/quant/calibration-methods.js';
import { TensorStats } from '../src/quant/calibration-stats.js';

function statsOf(values: number[]): TensorStats {
  const s = new TensorStats('t');
  s.update(Float64Array.from(values));
  return s;
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe('minmax', () => {
  const s = statsOf([-1, 0.5, 3]);
  it.each([
    [false, { min: -1, max: 3 }],
    [true, { min: -3, max: 3 }],
  ])('symmetric %s', (symmetric, expected) => {
    expect(deriveRange(s, 'minmax', { symmetric })).toEqual(expected);
  });
});

describe('percentile', () => {
  it('is exact, as numpy, for tiny data', () => {
    const s = statsOf(range(100, (i) => i + 1));
    // numpy.percentile(1..100, 99) = 1 + 0.99·99 = 99.01; the 1st percentile is 1 + 0.01·99 = 1.99.
    const r = deriveRange(s, 'percentile', { percentile: 99 });
    expect(r.max).toBeCloseTo(99.01, 12);
    expect(r.min).toBeCloseTo(1.99, 12);
    const neg = statsOf(range(100, (i) => -(i + 1)));
    expect(deriveRange(neg, 'percentile', { percentile: 99, symmetric: true }).max).toBeCloseTo(99.01, 12);
    expect(deriveRange(s, 'percentile', { percentile: 100 })).toEqual({ min: 1, max: 100 });
  });

  it('defaults to 99.99', () => {
    const s = statsOf(range(2001, (i) => i / 2000));
    expect(s.exactValues).not.toBeNull();
    expect(deriveRange(s, 'percentile').max).toBeCloseTo(
      exactQuantile(
        range(2001, (i) => i / 2000),
        0.9999,
      ),
      12,
    );
  });

  it('interpolates inside histogram bins', () => {
    // Mass 1, 1, 2 in bins [0,1), [1,2), [2,3): half the mass lies below 2, three quarters below 2.5.
    expect(histogramQuantile([1, 1, 2], 0, 1, 0.5)).toBe(2);
    expect(histogramQuantile([1, 1, 2], 0, 1, 0.75)).toBe(2.5);
    expect(histogramQuantile([0, 4], -1, 1, 0)).toBe(0);
  });

  it('uses the histogram beyond EXACT_LIMIT values', () => {
    const values = range(10000, (i) => i / 10000);
    const s = statsOf(values);
    expect(s.exactValues).toBeNull();
    const r = deriveRange(s, 'percentile', { percentile: 99 });
    expect(r.max).toBeCloseTo(0.99, 3);
    expect(r.min).toBeCloseTo(0.01, 3);
    expect(deriveRange(s, 'percentile', { percentile: 99, symmetric: true }).max).toBeCloseTo(0.99, 3);
  });

  it.each([50, 0, 100.5, NaN])('rejects percentile %d', (p) => {
    expect(() => deriveRange(statsOf([1]), 'percentile', { percentile: p })).toThrow(UserError);
  });
});

describe('entropy', () => {
  it('computes KL(P||Q) of unnormalized distributions', () => {
    // P = [4, 12]/16, Q = [4, 4]/8: 0.25·ln(0.5) + 0.75·ln(1.5).
    expect(klDivergence([4, 12], [4, 4])).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 12);
    expect(klDivergence([1, 1], [1, 1])).toBe(0);
    expect(klDivergence([0, 0], [1, 1])).toBe(Infinity);
  });

  it('keeps the full range of a uniform histogram', () => {
    // levels 2: i=2 gives KL 0.131, i=3 gives 0.059, i=4 gives 0 (P = Q).
    expect(entropyThresholdBins([4, 4, 4, 4], 2)).toBe(4);
  });

  it('clips a far outlier bin', () => {
    // [6, 2, 0, 0, 0, 0, 0, 1], levels 2: i=2 gives KL([6,3],[6,2]) = 0.0174, i=3 gives 0.036,
    // i=4..7 put the outlier mass where Q is empty (KL > 1), i=8 gives 0.116.
    expect(entropyThresholdBins([6, 2, 0, 0, 0, 0, 0, 1], 2)).toBe(2);
  });

  it('does not clip data that fits in the levels', () => {
    expect(entropyThresholdBins([3, 0, 1, 0, 0], 4)).toBe(3);
  });

  // An exponential-like cluster (mean 0.02, largest 0.184) plus one value at 1.9. Over the full
  // range the cluster would get ~13 of the 128 levels, which flattens its shape: the threshold
  // must land just above the cluster.
  const cluster = [...range(5000, (i) => -0.02 * Math.log(1 - (i + 0.5) / 5000)), 1.9];

  it('on stats: excludes a far outlier and keeps a uniform range', () => {
    const r = deriveRange(statsOf(cluster), 'entropy', { symmetric: true });
    expect(r.max).toBeGreaterThanOrEqual(0.18);
    expect(r.max).toBeLessThan(0.25);
    expect(r.min).toBe(-r.max);
    const uniform = statsOf(range(20000, (i) => (i / 20000) * 2 - 1));
    expect(deriveRange(uniform, 'entropy', { symmetric: true }).max).toBeGreaterThan(0.95);
  });

  it('intersects an asymmetric range with the data and uses minmax at 16 bits', () => {
    const s = statsOf(cluster);
    const r = deriveRange(s, 'entropy');
    expect(r.min).toBe(s.min);
    expect(r.max).toBeGreaterThan(0.18);
    expect(r.max).toBeLessThan(1);
    expect(deriveRange(s, 'entropy', { bits: 16 })).toEqual({ min: s.min, max: 1.9 });
  });
});

describe('mse', () => {
  it('integrates the rounding and clipping error of a bin exactly', () => {
    const numeric = (lo: number, hi: number, t: number, s: number) => {
      const n = 200000;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const x = lo + ((i + 0.5) / n) * (hi - lo);
        const q = Math.min(s * Math.round(x / s), t);
        sum += (x - q) ** 2;
      }
      return sum / n;
    };
    for (const [lo, hi, t, s] of [
      [0, 1, 4, 0.37],
      [2, 3, 2.5, 0.5],
      [5, 6, 3, 0.1],
      [0, 0.01, 1, 0.25],
      [0.3, 0.31, 1, 0.25],
    ]) {
      expect(expectedSquaredError(lo, hi, t, s)).toBeCloseTo(numeric(lo, hi, t, s), 8);
    }
    // A bin of width 1 on a grid of step 1/127 has the textbook s²/12.
    expect(expectedSquaredError(0, 1, 1, 1 / 127)).toBeCloseTo(1 / 127 ** 2 / 12, 15);
  });

  it('keeps the full range of a uniform histogram', () => {
    // t = 3 would add 10 · E[(x−3)²] = 10/3 of clipping error on the last bin; t = 4 adds only rounding.
    expect(mseThreshold([10, 10, 10, 10], 1, 127).threshold).toBe(4);
  });

  it('clips a far outlier when the mass near zero is large', () => {
    // t = 1: 10⁶·(1/127)²/12 + E[(x−1)²] for x in [7,8) = 5.17 + 42.33 = 47.5;
    // t = 2: 20.7 + 30.3 = 51.0; t = 8: 10⁶·(8/127)²/12 = 330.7.
    const r = mseThreshold([1e6, 0, 0, 0, 0, 0, 0, 1], 1, 127);
    expect(r.threshold).toBe(1);
    expect(r.error * (1e6 + 1)).toBeCloseTo(1e6 / 127 ** 2 / 12 + 127 / 3, 6);
  });

  it('on stats: balances rounding against clipping one outlier, as the closed form predicts', () => {
    // N = 10⁵ values in [0, 0.1) and one at 1.9. Error(t) ≈ N·(t/127)²/12 + (1.9 − t)², smallest at
    // t = 3.8 / (N / (6·127²) + 2) = 1.253; the search works on bin edges 1/1024 apart.
    const n = 100000;
    const s = statsOf([...range(n, (i) => ((i % 1000) / 1000) * 0.1), 1.9]);
    const r = deriveRange(s, 'mse', { symmetric: true });
    expect(r.max).toBeCloseTo(3.8 / (n / (6 * 127 ** 2) + 2), 1);
    const uniform = statsOf(range(20000, (i) => (i / 20000) * 2 - 1));
    expect(deriveRange(uniform, 'mse', { symmetric: true }).max).toBeGreaterThan(0.95);
  });
});

describe('edge cases', () => {
  it('a tensor with no finite value has no range', () => {
    const s = new TensorStats('dead');
    s.update([NaN, Infinity]);
    expect(() => deriveRange(s, 'minmax')).toThrow(/Tensor 'dead' had no finite value in the calibration data \(1 NaN, 1 infinite\)/);
  });

  it.each(['minmax', 'percentile', 'entropy', 'mse'] as const)('%s of an all-zero tensor is [0, 0]', (method) => {
    const r = deriveRange(statsOf([0, 0, 0]), method, { symmetric: true });
    expect([Math.abs(r.min), r.max]).toEqual([0, 0]);
  });
});
