import { describe, expect, it } from 'vitest';
import { makeTensor } from '../src/core/tensor.js';
import {
  biasFitsInt32,
  dequantizeValue,
  fakeQuantize,
  fakeQuantizePerChannel,
  integerRange,
  perChannelWeightParams,
  perTensorWeightParams,
  quantizeBias,
  quantizeTensor,
  quantizeValue,
  quantParams,
  roundHalfEven,
} from '../src/quant/qparams.js';

const f = Math.fround;

describe('roundHalfEven', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4, 2],
    [2.6, 3],
    [-2.6, -3],
    [7, 7],
  ])('%d -> %d', (x, r) => {
    expect(roundHalfEven(x) + 0).toBe(r);
  });
});

describe('quantParams', () => {
  it.each([
    ['symmetric int8', { min: -1, max: 2 }, 8, true, true, { scale: f(2 / 127), zeroPoint: 0, qmin: -128, qmax: 127 }],
    ['symmetric int8 of a one-signed range', { min: 0, max: 2 }, 8, true, true, { scale: f(2 / 127), zeroPoint: 0 }],
    ['symmetric uint8', { min: -1, max: 1 }, 8, true, false, { scale: f(2 / 255), zeroPoint: 128, qmin: 0, qmax: 255 }],
    ['symmetric int16', { min: -1, max: 0.5 }, 16, true, true, { scale: f(1 / 32767), zeroPoint: 0, qmin: -32768, qmax: 32767 }],
    ['asymmetric int8 from zero', { min: 0, max: 2.55 }, 8, false, true, { scale: f(0.01), zeroPoint: -128 }],
    // 1/scale = 127.49999 (float32 scale slightly above 2/255): −128 + 127.49999 rounds to −1.
    ['asymmetric int8 around zero', { min: -1, max: 1 }, 8, false, true, { scale: f(2 / 255), zeroPoint: -1 }],
    ['asymmetric range widened to include 0', { min: 1, max: 2.55 }, 8, false, true, { scale: f(0.01), zeroPoint: -128 }],
    ['asymmetric all-negative', { min: -2.55, max: -1 }, 8, false, true, { scale: f(0.01), zeroPoint: 127 }],
    ['asymmetric uint8', { min: -1, max: 3 }, 8, false, false, { scale: f(4 / 255), zeroPoint: 64 }],
    ['zero range: scale 1, never 0', { min: 0, max: 0 }, 8, false, true, { scale: 1, zeroPoint: 0 }],
    ['zero range symmetric unsigned', { min: 0, max: 0 }, 8, true, false, { scale: 1, zeroPoint: 128 }],
    ['denormal range', { min: 0, max: 1e-40 }, 8, true, true, { scale: 1, zeroPoint: 0 }],
  ] as const)('%s', (_, range, bits, symmetric, signed, expected) => {
    expect(quantParams(range, bits, symmetric, signed)).toMatchObject(expected);
  });

  it('rejects a non-finite or inverted range', () => {
    expect(() => quantParams({ min: 0, max: Infinity }, 8, true)).toThrow(RangeError);
    expect(() => quantParams({ min: 2, max: 1 }, 8, true)).toThrow(RangeError);
  });

  it('integerRange', () => {
    expect(integerRange(8, true)).toEqual({ qmin: -128, qmax: 127 });
    expect(integerRange(16, false)).toEqual({ qmin: 0, qmax: 65535 });
  });
});

describe('QuantizeLinear / DequantizeLinear', () => {
  it.each([
    [0.25, 0],
    [0.75, 2],
    [-0.25, 0],
    [-0.75, -2],
    [1.25, 2],
    [1000, 127],
    [-1000, -128],
    [Infinity, 127],
    [-Infinity, -128],
    [NaN, -128],
  ])('scale 0.5, zero point 0: %d -> %d', (x, q) => {
    expect(quantizeValue(x, 0.5, 0, -128, 127) + 0).toBe(q);
  });

  it('saturates after adding the zero point', () => {
    expect(quantizeValue(0, 0.1, 100, -128, 127)).toBe(100);
    expect(quantizeValue(5, 0.1, 100, -128, 127)).toBe(127);
    expect(quantizeValue(-30, 0.1, 100, -128, 127)).toBe(-128);
  });

  it('divides in float32, as onnxruntime does', () => {
    // x / s is 6.50000016 in float64 but exactly 6.5 in float32, which rounds to even: 6, not 7.
    const x = 0.007299500517547131;
    const s = 0.0011230000527575612;
    expect(x / s).toBeGreaterThan(6.5);
    expect(quantizeValue(x, s, 0, -128, 127)).toBe(6);
  });

  it('fakeQuantize dequantizes in float32', () => {
    const p = quantParams({ min: -1, max: 1 }, 8, true);
    const out = fakeQuantize(Float32Array.from([0.1, -1, 1, 2]), p);
    expect([...out]).toEqual([f(13 * p.scale), f(-127 * p.scale), f(127 * p.scale), f(127 * p.scale)]);
    expect(dequantizeValue(3, 0.5, 1)).toBe(1);
  });
});

describe('weights', () => {
  // A Conv weight [M=2, C=1, 1, 2]: channel 0 holds 1 and −2, channel 1 holds 0.5 and 0.25.
  const w = makeTensor('float32', [2, 1, 1, 2], Float32Array.from([1, -2, 0.5, 0.25]));

  it('per channel on axis 0, symmetric', () => {
    const p = perChannelWeightParams(w, 0, 8, true);
    expect([...p.scales]).toEqual([f(2 / 127), f(0.5 / 127)]);
    expect([...p.zeroPoints]).toEqual([0, 0]);
    expect(quantizeTensor(w, p)).toEqual(makeTensor('int8', [2, 1, 1, 2], Int8Array.from([64, -127, 127, 64])));
    const fq = fakeQuantizePerChannel(w.data as Float32Array, w.dims, p);
    expect([...fq]).toEqual([f(64 * p.scales[0]), f(-127 * p.scales[0]), f(127 * p.scales[1]), f(64 * p.scales[1])]);
  });

  it('per channel on axis 1 (ConvTranspose layout) and negative axes', () => {
    const t = makeTensor('float32', [2, 2, 1, 1], Float32Array.from([1, 3, -2, 0]));
    const p = perChannelWeightParams(t, 1, 8, true);
    expect([...p.scales]).toEqual([f(2 / 127), f(3 / 127)]);
    expect([...perChannelWeightParams(t, -3, 8, true).scales]).toEqual([...p.scales]);
    expect(() => perChannelWeightParams(t, 4, 8, true)).toThrow(RangeError);
  });

  it('per channel asymmetric int16 and an all-zero channel', () => {
    const t = makeTensor('float32', [2, 2], Float32Array.from([0, 0, -1, 3]));
    const p = perChannelWeightParams(t, 0, 16, false);
    expect(p.scales[0]).toBe(1);
    expect(p.scales[1]).toBe(f(4 / 65535));
    expect(quantizeTensor(t, p).dtype).toBe('int16');
  });

  it('per tensor', () => {
    const p = perTensorWeightParams(w, 8, true);
    expect(p.scale).toBe(f(2 / 127));
    expect([...(quantizeTensor(w, p).data as Int8Array)]).toEqual([64, -127, 32, 16]);
  });
});

describe('int32 bias', () => {
  it('uses scale input_scale × weight_scale per channel', () => {
    const { values, scales } = quantizeBias([0.5, -0.25], 0.1, Float32Array.from([0.01, 0.05]));
    expect([...scales]).toEqual([f(f(0.1) * f(0.01)), f(f(0.1) * f(0.05))]);
    expect([...values]).toEqual([Math.round(0.5 / scales[0]), Math.round(-0.25 / scales[1])]);
  });

  it('says whether a bias fits int32 at input_scale × weight_scale', () => {
    expect(biasFitsInt32([1e6, 1], 1e-3, Float32Array.from([1e-6, 1e-6]))).toBe(false);
    expect(biasFitsInt32([2, 1], 1e-3, Float32Array.from([1e-6, 1e-6]))).toBe(true);
    // The reducemean-overflow case: an int16 scale pair clips a bias of -0.594 at -0.519.
    expect(biasFitsInt32([-0.594], 2.42e-10, [1])).toBe(false);
    expect(biasFitsInt32([Number.NaN], 1, [1])).toBe(false);
    expect(biasFitsInt32([1e6], 1e-3, [1e-6, 1])).toBe(false);
  });
});
