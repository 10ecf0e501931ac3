import { describe, expect, it } from 'vitest';
import { EXACT_LIMIT, HISTOGRAM_BINS, MIN_RANGE, mergeStats, powerOfTwoAbove, TensorStats } from '../src/quant/calibration-stats.js';

function statsOf(...batches: number[][]): TensorStats {
  const s = new TensorStats('t');
  for (const b of batches) s.update(Float32Array.from(b));
  return s;
}

function nonzeroBins(s: TensorStats): Record<number, number> {
  const out: Record<number, number> = {};
  s.histogram.forEach((c, k) => {
    if (c !== 0) out[k] = c;
  });
  return out;
}

/** A deterministic pseudo-random sequence (LCG), so the tests need no seed handling. */
function lcg(n: number, scale: number, seed = 1): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(Math.fround(((x / 2 ** 31) * 2 - 1) * scale * (i % 97 === 0 ? 8 : 1)));
  }
  return out;
}

describe('powerOfTwoAbove', () => {
  it.each([
    [1, 2],
    [0.75, 1],
    [3, 4],
    [4, 8],
    [0, MIN_RANGE],
    [1e-30, MIN_RANGE],
  ])('%d -> %d', (v, p) => {
    expect(powerOfTwoAbove(v)).toBe(p);
  });
});

describe('TensorStats', () => {
  it('tracks min, max, counts, mean and std; NaN and Inf are counted apart', () => {
    const s = statsOf([1, -3, NaN, 2], [Infinity, -Infinity, 0]);
    expect([s.min, s.max, s.count, s.nanCount, s.infCount]).toEqual([-3, 2, 4, 1, 2]);
    expect(s.mean).toBe(0);
    expect(s.std).toBeCloseTo(Math.sqrt(14 / 4), 12);
    expect(s.maxAbs).toBe(3);
  });

  it('bins values over [-a, a) with a the power of two above max |x|', () => {
    // a = 1 (0.5 < 1), w = 2/4096 = 1/2048: bin = floor(x·2048) + 2048.
    const s = statsOf([0.5, -0.5, 0, -1e-30, 0.25]);
    expect(s.range).toBe(1);
    expect(s.binWidth).toBe(1 / 2048);
    expect(nonzeroBins(s)).toEqual({ 1024: 1, 2047: 1, 2048: 1, 2560: 1, 3072: 1 });
  });

  it('grows by merging bins exactly, so batch order does not matter', () => {
    const grown = statsOf([0.5], [1], [-3]);
    const atOnce = statsOf([0.5, 1, -3]);
    expect(grown.range).toBe(4);
    expect(nonzeroBins(grown)).toEqual(nonzeroBins(atOnce));
    // a = 4, w = 1/512: 0.5 -> 2304, 1 -> 2560, -3 -> 512.
    expect(nonzeroBins(atOnce)).toEqual({ 512: 1, 2304: 1, 2560: 1 });
  });

  it('gives the same histogram for any order and merge tree of the same values', () => {
    const values = lcg(5000, 0.3);
    const reference = statsOf(values);
    const reversed = statsOf([...values].reverse().slice(0, 2500), [...values].reverse().slice(2500));
    const merged = mergeStats(statsOf(values.slice(3000)), statsOf(values.slice(0, 100), values.slice(100, 3000)));
    for (const other of [reversed, merged]) {
      expect(other.range).toBe(reference.range);
      expect([...other.histogram]).toEqual([...reference.histogram]);
      expect([other.min, other.max, other.count]).toEqual([reference.min, reference.max, reference.count]);
    }
  });

  it('mergeStats leaves its arguments unchanged and combines NaN counts', () => {
    const a = statsOf([1, NaN]);
    const b = statsOf([-8]);
    const m = mergeStats(a, b);
    expect([m.min, m.max, m.count, m.nanCount, m.range]).toEqual([-8, 1, 2, 1, 16]);
    expect([a.count, a.range, b.count]).toEqual([1, 2, 1]);
  });

  it('keeps exact values only while the count is at most EXACT_LIMIT', () => {
    const s = statsOf([3, 1, 2]);
    expect(s.exactValues).toEqual([3, 1, 2]);
    s.update(new Float32Array(EXACT_LIMIT - 3));
    expect(s.exactValues?.length).toBe(EXACT_LIMIT);
    s.update([1]);
    expect(s.exactValues).toBeNull();
  });

  it('folds the signed histogram into |x| bins', () => {
    const s = statsOf([0.5, -0.5, -1e-30, 0.75]);
    const abs = s.absHistogram();
    expect(abs.length).toBe(HISTOGRAM_BINS / 2);
    const nz: Record<number, number> = {};
    abs.forEach((c, k) => {
      if (c) nz[k] = c;
    });
    expect(nz).toEqual({ 0: 1, 1023: 1, 1024: 1, 1536: 1 });
  });

  it('round-trips through JSON', () => {
    const s = statsOf(lcg(3000, 2), [NaN]);
    const back = TensorStats.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    expect([...back.histogram]).toEqual([...s.histogram]);
    expect([back.min, back.max, back.count, back.nanCount, back.range, back.mean]).toEqual([
      s.min,
      s.max,
      s.count,
      s.nanCount,
      s.range,
      s.mean,
    ]);
    expect(back.exactValues).toBeNull();
    const empty = TensorStats.fromJSON(new TensorStats('e').toJSON());
    expect([empty.count, empty.min, empty.range]).toEqual([0, Infinity, 0]);
    expect(() => TensorStats.fromJSON({ ...s.toJSON(), range: 3 })).toThrow(RangeError);
  });

  it('updates 4M values in well under a second', () => {
    const big = new Float32Array(4_000_000);
    for (let i = 0; i < big.length; i++) big[i] = ((i % 2001) - 1000) / 100;
    const t0 = performance.now();
    const s = new TensorStats('big');
    s.update(big);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(s.count).toBe(4_000_000);
  });
});
