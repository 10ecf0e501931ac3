import { describe, expect, it } from 'vitest';
import { computeMetrics, hasNonFiniteFailure, sampleIndices, unravel, type MetricOptions, type Metrics } from '../src/analysis/metrics.js';
import { UserError } from '../src/core/errors.js';
import { floatToBfloat16, floatToHalf } from '../src/core/float16.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';

const f32 = (values: number[], dims: number[] = [values.length]): Tensor => makeTensor('float32', dims, Float32Array.from(values));
const f64 = (values: number[], dims: number[] = [values.length]): Tensor => makeTensor('float64', dims, Float64Array.from(values));
const EPS = 1e-6;

interface Case {
  name: string;
  x: number[];
  y: number[];
  dims?: number[];
  options?: MetricOptions;
  expect: Partial<Metrics> & { failure?: boolean };
}

// Every value below is worked out by hand from the formulas in computeMetrics' doc comment.
const cases: Case[] = [
  {
    name: 'one element off by 1',
    x: [1, 2, 3, 4],
    y: [1, 2, 3, 5],
    expect: {
      cosine: 34 / Math.sqrt(30 * 39),
      mse: 0.25,
      rmse: 0.5,
      mae: 0.25,
      maxAbs: 1,
      maxAbsIndex: [3],
      relL2: 1 / Math.sqrt(30),
      maxRel: 1 / (4 + EPS),
      meanRel: 1 / (4 + EPS) / 4,
      snrDb: 10 * Math.log10(30),
      psnrDb: 10 * Math.log10(16 / 0.25),
      worstChannelCosine: null,
      worstChannel: null,
      refRange: { min: 1, max: 4 },
      testRange: { min: 1, max: 5 },
      count: 4,
      compared: 4,
      nanRef: 0,
      nanTest: 0,
      infRef: 0,
      infTest: 0,
      clipRatio: null,
      fp16Overflow: null,
      failure: false,
    },
  },
  {
    name: 'identical: snr and psnr +Inf, errors 0',
    x: [1, -2, 3],
    y: [1, -2, 3],
    expect: { cosine: 1, mse: 0, mae: 0, maxAbs: 0, maxAbsIndex: [0], relL2: 0, maxRel: 0, meanRel: 0, snrDb: Infinity, psnrDb: Infinity },
  },
  {
    name: 'both all-zero: cosine 1, relL2 0',
    x: [0, 0],
    y: [0, 0],
    expect: { cosine: 1, relL2: 0, mse: 0, snrDb: Infinity, psnrDb: Infinity },
  },
  {
    name: 'reference all-zero: cosine 0, relL2 +Inf, snr -Inf',
    x: [0, 0],
    y: [1, 0],
    expect: {
      cosine: 0,
      relL2: Infinity,
      mse: 0.5,
      snrDb: -Infinity,
      psnrDb: -Infinity,
      maxRel: 1 / EPS,
      meanRel: 0.5 / EPS,
      maxAbsIndex: [0],
    },
  },
  {
    name: 'test all-zero: cosine 0, relL2 1, snr 0 dB',
    x: [3, 4],
    y: [0, 0],
    expect: { cosine: 0, relL2: 1, mse: 12.5, mae: 3.5, maxAbs: 4, maxAbsIndex: [1], snrDb: 0, psnrDb: 10 * Math.log10(16 / 12.5) },
  },
  {
    name: 'negated: cosine -1, relL2 2',
    x: [1, 2],
    y: [-1, -2],
    expect: { cosine: -1, relL2: 2, snrDb: 10 * Math.log10(5 / 20), mse: 10 },
  },
  {
    name: 'NaN in y where x is finite: counted, excluded, fails',
    x: [1, 2, 3],
    y: [1, Number.NaN, 3],
    expect: {
      nanTest: 1,
      nanRef: 0,
      compared: 2,
      count: 3,
      cosine: 1,
      mse: 0,
      nonFiniteIntroduced: 1,
      failure: true,
      testRange: { min: 1, max: 3 },
      refRange: { min: 1, max: 3 },
    },
  },
  {
    name: '-Inf in y where x is finite fails',
    x: [1, 2],
    y: [-Infinity, 2],
    expect: { infTest: 1, nanTest: 0, compared: 1, nonFiniteIntroduced: 1, failure: true, testRange: { min: 2, max: 2 } },
  },
  {
    name: 'NaN on both sides at the same place does not fail',
    x: [Number.NaN, 1],
    y: [Number.NaN, 1],
    expect: { nanRef: 1, nanTest: 1, nonFiniteIntroduced: 0, failure: false, snrDb: Infinity, compared: 1, refRange: { min: 1, max: 1 } },
  },
  {
    name: 'Inf only in x: counted, excluded, not a test failure',
    x: [-Infinity, 1],
    y: [5, 1],
    expect: { infRef: 1, infTest: 0, nonFiniteIntroduced: 0, failure: false, compared: 1, mse: 0, testRange: { min: 1, max: 5 } },
  },
  {
    name: 'all NaN: nothing compared, every measure and the ranges NaN',
    x: [Number.NaN],
    y: [Number.NaN],
    expect: {
      compared: 0,
      cosine: Number.NaN,
      mse: Number.NaN,
      maxAbs: Number.NaN,
      maxAbsIndex: [],
      refRange: { min: Number.NaN, max: Number.NaN },
    },
  },
  {
    name: 'empty tensor (a zero dim)',
    x: [],
    y: [],
    dims: [0, 3],
    expect: {
      count: 0,
      compared: 0,
      cosine: 1,
      mse: 0,
      rmse: 0,
      mae: 0,
      maxAbs: 0,
      maxAbsIndex: [],
      relL2: 0,
      maxRel: 0,
      meanRel: 0,
      snrDb: Infinity,
      psnrDb: Infinity,
      worstChannelCosine: null,
      worstChannel: null,
      errorPercentiles: { p50: 0, p90: 0, p99: 0 },
      refRange: { min: Number.NaN, max: Number.NaN },
    },
  },
  {
    name: 'scalar: coordinates are []',
    x: [2],
    y: [1],
    dims: [],
    expect: { cosine: 1, mse: 1, relL2: 0.5, maxRel: 1 / (2 + EPS), psnrDb: 10 * Math.log10(4), maxAbsIndex: [], worstChannel: null },
  },
  {
    name: 'coordinates follow the reference dims',
    x: [0, 1, 2, 3, 4, 5],
    y: [0, 1, 2, 3, 7, 5],
    dims: [2, 3],
    expect: { maxAbs: 3, maxAbsIndex: [1, 1] },
  },
  {
    name: 'clipRatio counts x outside the calibrated range, Inf included',
    x: [-2, 0, 1, 3, Infinity],
    y: [-2, 0, 1, 3, Infinity],
    options: { calibratedRange: { min: -1, max: 2 } },
    expect: { clipRatio: 3 / 5, infRef: 1, infTest: 1, failure: false },
  },
  {
    name: 'fp16Overflow counts |x| > 65504 when asked',
    x: [70000, -65504, -65505, 1],
    y: [70000, -65504, -65505, 1],
    options: { fp16: true },
    expect: { fp16Overflow: 2, clipRatio: null },
  },
  {
    name: 'fp16Overflow counts finite x the test side turned into ±Inf (an fp16 sum overflowed), once each',
    x: [40, -40, 70000, 2, Number.NaN],
    y: [Infinity, -Infinity, Infinity, Number.NaN, Infinity],
    options: { fp16: true },
    expect: { fp16Overflow: 3, nonFiniteIntroduced: 4, failure: true },
  },
  {
    name: 'peak given: psnr against 255',
    x: [0, 1],
    y: [0, 0],
    options: { peak: 255 },
    expect: { mse: 0.5, psnrDb: 10 * Math.log10((255 * 255) / 0.5) },
  },
  {
    name: 'epsilon given: relative errors use it',
    x: [0, 2],
    y: [1, 2],
    options: { epsilon: 0.5 },
    expect: { maxRel: 2, meanRel: 1 },
  },
  {
    name: 'percentiles of |d| (numpy linear method)',
    x: [0, 0, 0, 0, 0],
    y: [4, -1, 3, 0, 2],
    expect: { errorPercentiles: { p50: 2, p90: 3.6, p99: 3.96 } },
  },
  {
    name: 'percentiles from an evenly strided sample',
    x: [0, 0, 0, 0, 0],
    y: [0, 1, 2, 3, 4],
    options: { sampleSize: 2 },
    expect: { errorPercentiles: { p50: 1, p90: 1.8, p99: 1.98 } },
  },
  {
    name: 'worst channel: axis 1, the crushed channel named while overall cosine passes',
    x: [100, 200, 300, 400, 0.01, 0.02, 0.03, 0.04, 5, 6, 7, 8],
    y: [100, 200, 300, 400, 0, 0, 0, 0, 5, 6, 7, 8],
    dims: [1, 3, 2, 2],
    expect: { worstChannelCosine: 0, worstChannel: 1 },
  },
  {
    name: 'channelAxis option (axis 0 instead of 1)',
    x: [1, 1, 1, 1],
    y: [1, 1, -1, -1],
    dims: [2, 2],
    options: { channelAxis: 0 },
    expect: { worstChannelCosine: -1, worstChannel: 1, cosine: 0 },
  },
  {
    name: 'channelAxis null turns the channel cosine off',
    x: [1, 2],
    y: [1, 2],
    dims: [1, 2],
    options: { channelAxis: null },
    expect: { worstChannelCosine: null, worstChannel: null },
  },
];

function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    const a = actual as number;
    if (Number.isNaN(expected)) expect(a, path).toBeNaN();
    else if (!Number.isFinite(expected)) expect(a, path).toBe(expected);
    else expect(Math.abs(a - expected), `${path}: ${a} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    const obj = actual as Record<string, unknown>;
    expect(Object.keys(obj).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectClose(obj[k], v, `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

describe('computeMetrics edge cases', () => {
  it.each(cases)('$name', ({ x, y, dims, options, expect: want }) => {
    const m = computeMetrics(f32(x, dims), f32(y, dims), options);
    const { failure, ...fields } = want;
    for (const [k, v] of Object.entries(fields)) expectClose((m as unknown as Record<string, unknown>)[k], v, k);
    if (failure !== undefined) expect(hasNonFiniteFailure(m)).toBe(failure);
  });

  it('passes overall cosine while the worst channel fails', () => {
    const c = cases.find((k) => k.name.startsWith('worst channel')) as Case;
    const m = computeMetrics(f32(c.x, c.dims), f32(c.y, c.dims));
    expect(m.cosine).toBeGreaterThan(0.99);
    expect(m.worstChannelCosine).toBe(0);
  });
});

describe('computeMetrics inputs', () => {
  it('reads float16, bfloat16, integers and int64 like their float32 values', () => {
    const values = [0.5, -2, 3, 1024];
    const ref = f32(values);
    const half = makeTensor('float16', [4], Uint16Array.from(values.map(floatToHalf)));
    const bf = makeTensor('bfloat16', [4], Uint16Array.from(values.map(floatToBfloat16)));
    const ints = makeTensor('int32', [4], Int32Array.from([1, -2, 3, 1024]));
    const longs = makeTensor('int64', [4], BigInt64Array.from([1n, -2n, 3n, 1024n]));
    expect(computeMetrics(ref, half).mse).toBe(0);
    expect(computeMetrics(bf, ref).mse).toBe(0);
    expect(computeMetrics(ref, ints).mse).toBeCloseTo(0.25 / 4, 12);
    expect(computeMetrics(longs, ints).maxAbs).toBe(0);
    expect(computeMetrics(f64(values), ref).snrDb).toBe(Infinity);
  });

  it('decodes fp16 infinity as a non-finite test value', () => {
    const ref = f32([1, 70000]);
    const half = makeTensor('float16', [2], Uint16Array.from([1, 70000].map(floatToHalf)));
    const m = computeMetrics(ref, half, { fp16: true });
    expect([m.infTest, m.nonFiniteIntroduced, m.fp16Overflow]).toEqual([1, 1, 1]);
  });

  it('allows the same element count under different dims (coordinates from the reference)', () => {
    const m = computeMetrics(f32([1, 2, 3, 4], [2, 2]), f32([1, 2, 3, 9], [4]));
    expect(m.maxAbsIndex).toEqual([1, 1]);
  });

  it.each([
    { name: 'element counts differ', ref: f32([1, 2, 3], [3]), test: f32([1, 2], [1, 2]), message: /\[3\].*\[1,2\]/ },
    { name: 'string tensor', ref: makeTensor('string', [1], ['a']), test: f32([1]), message: /string/ },
  ])('throws a UserError when $name', ({ ref, test, message }) => {
    expect(() => computeMetrics(ref, test)).toThrow(UserError);
    expect(() => computeMetrics(ref, test)).toThrow(message);
  });

  it.each([
    { options: { epsilon: 0 }, message: /epsilon/ },
    { options: { sampleSize: 0 }, message: /sample size/ },
    { options: { peak: -1 }, message: /peak/ },
    { options: { calibratedRange: { min: 2, max: 1 } }, message: /calibrated range/ },
    { options: { channelAxis: 2 }, message: /Channel axis 2/ },
  ])('rejects bad option $options', ({ options, message }) => {
    expect(() => computeMetrics(f32([1, 2], [1, 2]), f32([1, 2], [1, 2]), options as MetricOptions)).toThrow(message);
  });
});

describe('computeMetrics across blocks', () => {
  it('matches a naive float64 computation on a tensor larger than one block', () => {
    const dims = [2, 3, 41_001];
    const n = 2 * 3 * 41_001;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    let s = 7;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      x[i] = s / 2 ** 32 - 0.5;
      y[i] = x[i] + (i % 3 === 1 ? ((s >>> 8) & 255) / 256 - 0.5 : 0) * (Math.floor(i / 41_001) % 3 === 2 ? 1 : 0.01);
    }
    const m = computeMetrics(makeTensor('float32', dims, x), makeTensor('float32', dims, y));
    const xy = [0, 0, 0],
      xx = [0, 0, 0],
      yy = [0, 0, 0];
    let sdd = 0;
    let maxAbs = 0,
      maxAt = 0;
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / 41_001) % 3;
      xy[c] += x[i] * y[i];
      xx[c] += x[i] * x[i];
      yy[c] += y[i] * y[i];
      const d = x[i] - y[i];
      sdd += d * d;
      if (Math.abs(d) > maxAbs) {
        maxAbs = Math.abs(d);
        maxAt = i;
      }
    }
    const cos = [0, 1, 2].map((c) => xy[c] / Math.sqrt(xx[c] * yy[c]));
    const total = (xy[0] + xy[1] + xy[2]) / Math.sqrt((xx[0] + xx[1] + xx[2]) * (yy[0] + yy[1] + yy[2]));
    expect(m.cosine).toBeCloseTo(total, 10);
    expect(m.mse).toBeCloseTo(sdd / n, 12);
    expect(m.worstChannel).toBe(2);
    expect(m.worstChannelCosine).toBeCloseTo(Math.min(...cos), 10);
    expect(m.maxAbs).toBe(maxAbs);
    expect(m.maxAbsIndex).toEqual(unravel(maxAt, dims));
    expect(m.errorPercentiles.p999).toBeDefined();
  });
});

describe('helpers', () => {
  it.each([
    { n: 10, size: 4, want: [0, 2, 5, 7] },
    { n: 3, size: 4, want: [0, 1, 2] },
    { n: 0, size: 4, want: [] },
  ])('sampleIndices($n, $size)', ({ n, size, want }) => {
    expect(sampleIndices(n, size)).toEqual(want);
  });

  it.each([
    { flat: 0, dims: [2, 3], want: [0, 0] },
    { flat: 5, dims: [2, 3], want: [1, 2] },
    { flat: 7, dims: [2, 2, 2], want: [1, 1, 1] },
    { flat: 0, dims: [], want: [] },
  ])('unravel($flat, $dims)', ({ flat, dims, want }) => {
    expect(unravel(flat, dims)).toEqual(want);
  });
});
