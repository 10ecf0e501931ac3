import { makeTensor, toFloat32, type Tensor } from '../core/tensor.js';
import type { Range } from './calibration-methods.js';

/**
 * Scales and zero points, and quantization that reproduces onnxruntime's QuantizeLinear and
 * DequantizeLinear bit for bit:
 *   q = saturate(roundHalfEven(x / scale) + zeroPoint),   x̂ = (q − zeroPoint) · scale,
 * with the division and the product in float32 (Math.fround), as the MLAS kernels compute them.
 * NaN quantizes to qmin (MLAS clamps a NaN quotient to the lower bound on x86 and ARM);
 * ±Inf saturate to qmax / qmin.
 *
 * Parameters follow onnxruntime's quantization tool: a symmetric range uses
 * t = max(|min|, |max|) with scale = t / (2^(bits−1) − 1) and zero point 0 (signed) or 2^(bits−1)
 * (unsigned, scale = 2t / (2^bits − 1)); an asymmetric range is first widened to include 0,
 * scale = (max − min) / (qmax − qmin) and zeroPoint = roundHalfEven(qmin − min / scale). The
 * scale is stored as float32. qmin and qmax are the storage type's full range (the saturation
 * bounds of QuantizeLinear), so symmetric int8 can still produce −128.
 *
 * Zero range: when the scale would be below the smallest normal float32 (2^−126), i.e. the range
 * is 0 or denormal, the scale is 1 and every value in range quantizes to the zero point, as in
 * onnxruntime's tool. The scale is never 0; 1 rather than a tiny floor keeps an int32 bias
 * (scale input_scale × weight_scale) representable when such a tensor feeds a Conv.
 */
export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly qmin: number;
  readonly qmax: number;
  readonly bits: 8 | 16;
  readonly signed: boolean;
}

/** Per-channel parameters along `axis` (per-axis QuantizeLinear/DequantizeLinear). */
export interface PerChannelParams {
  readonly axis: number;
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
  readonly qmin: number;
  readonly qmax: number;
  readonly bits: 8 | 16;
  readonly signed: boolean;
}

export const MIN_NORMAL_FLOAT32 = 2 ** -126;

export function integerRange(bits: 8 | 16 | 32, signed: boolean): { qmin: number; qmax: number } {
  return signed ? { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 } : { qmin: 0, qmax: 2 ** bits - 1 };
}

/** Rounds to the nearest integer, ties to even (ONNX QuantizeLinear, numpy.round). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export function quantParams(range: Range, bits: 8 | 16, symmetric: boolean, signed = true): QuantParams {
  if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max) {
    throw new RangeError(`quantization range [${range.min}, ${range.max}] is not a finite interval`);
  }
  const { qmin, qmax } = integerRange(bits, signed);
  let scale: number;
  let zeroPoint: number;
  if (symmetric) {
    const t = Math.max(Math.abs(range.min), Math.abs(range.max));
    scale = Math.fround(signed ? t / (2 ** (bits - 1) - 1) : (2 * t) / (2 ** bits - 1));
    zeroPoint = signed ? 0 : 2 ** (bits - 1);
  } else {
    const lo = Math.min(range.min, 0);
    const hi = Math.max(range.max, 0);
    scale = Math.fround((hi - lo) / (qmax - qmin));
    zeroPoint = scale >= MIN_NORMAL_FLOAT32 ? Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale))) : 0;
  }
  if (!(scale >= MIN_NORMAL_FLOAT32)) {
    scale = 1;
    zeroPoint = symmetric && !signed ? 2 ** (bits - 1) : 0;
  }
  return Object.freeze({ scale, zeroPoint, qmin, qmax, bits, signed });
}

/** QuantizeLinear of one value: an integer in [qmin, qmax]. `scale` must be a float32 value. */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const v = Math.fround(Math.fround(x) / scale);
  if (v !== v) return qmin;
  const q = roundHalfEven(Math.min(Math.max(v, qmin - zeroPoint), qmax - zeroPoint)) + zeroPoint;
  return q;
}

/** DequantizeLinear of one value. */
export function dequantizeValue(q: number, scale: number, zeroPoint: number): number {
  return Math.fround((q - zeroPoint) * scale);
}

/** QuantizeLinear then DequantizeLinear, per tensor, as a Q/DQ pair computes it. */
export function fakeQuantize(values: ArrayLike<number>, p: QuantParams): Float32Array {
  const out = new Float32Array(values.length);
  const { scale, zeroPoint, qmin, qmax } = p;
  for (let i = 0; i < values.length; i++) {
    out[i] = dequantizeValue(quantizeValue(values[i], scale, zeroPoint, qmin, qmax), scale, zeroPoint);
  }
  return out;
}

function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Element i of a C-order tensor of `dims` lies in channel ⌊i / inner⌋ mod channels along `axis`. */
function channelLayout(dims: readonly number[], axis: number): { channels: number; inner: number } {
  let inner = 1;
  for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
  return { channels: dims[axis], inner };
}

/** Per-tensor parameters from a weight tensor's own min and max (NaN ignored). */
export function perTensorWeightParams(weights: Tensor, bits: 8 | 16, symmetric: boolean, signed = true): QuantParams {
  const v = toFloat32(weights);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  return quantParams({ min: clampFinite(lo), max: clampFinite(hi) }, bits, symmetric, signed);
}

function clampFinite(x: number): number {
  return Math.min(Math.max(x, -3.4028234663852886e38), 3.4028234663852886e38);
}

/**
 * Per-channel parameters along `axis` (the output-channel axis: see weightLayout), each channel's
 * range from its own min and max with quantParams (NaN ignored, ±Inf taken as ±float32 max).
 */
export function perChannelWeightParams(weights: Tensor, axis: number, bits: 8 | 16, symmetric: boolean, signed = true): PerChannelParams {
  const a = normalizeAxis(axis, weights.dims.length);
  const v = toFloat32(weights);
  const { channels, inner } = channelLayout(weights.dims, a);
  const lo = new Float64Array(channels);
  const hi = new Float64Array(channels);
  for (let i = 0; i < v.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const x = v[i];
    if (x < lo[c]) lo[c] = x;
    if (x > hi[c]) hi[c] = x;
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  for (let c = 0; c < channels; c++) {
    const p = quantParams({ min: clampFinite(lo[c]), max: clampFinite(hi[c]) }, bits, symmetric, signed);
    scales[c] = p.scale;
    zeroPoints[c] = p.zeroPoint;
  }
  return Object.freeze({ axis: a, scales, zeroPoints, ...integerRange(bits, signed), bits, signed });
}

function isPerChannel(p: QuantParams | PerChannelParams): p is PerChannelParams {
  return 'scales' in p;
}

/** The quantized tensor (int8, uint8, int16 or uint16 by the parameters), same dims. */
export function quantizeTensor(t: Tensor, p: QuantParams | PerChannelParams): Tensor {
  const v = toFloat32(t);
  const out =
    p.bits === 8
      ? p.signed
        ? new Int8Array(v.length)
        : new Uint8Array(v.length)
      : p.signed
        ? new Int16Array(v.length)
        : new Uint16Array(v.length);
  const dtype = p.bits === 8 ? (p.signed ? 'int8' : 'uint8') : p.signed ? 'int16' : 'uint16';
  if (isPerChannel(p)) {
    const { channels, inner } = channelLayout(t.dims, p.axis);
    for (let i = 0; i < v.length; i++) {
      const c = Math.floor(i / inner) % channels;
      out[i] = quantizeValue(v[i], p.scales[c], p.zeroPoints[c], p.qmin, p.qmax);
    }
  } else {
    for (let i = 0; i < v.length; i++) out[i] = quantizeValue(v[i], p.scale, p.zeroPoint, p.qmin, p.qmax);
  }
  return makeTensor(dtype, t.dims, out);
}

/** Per-channel Q/DQ of C-order values with dims `dims`. */
export function fakeQuantizePerChannel(values: ArrayLike<number>, dims: readonly number[], p: PerChannelParams): Float32Array {
  const { channels, inner } = channelLayout(dims, normalizeAxis(p.axis, dims.length));
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const s = p.scales[c];
    const z = p.zeroPoints[c];
    out[i] = dequantizeValue(quantizeValue(values[i], s, z, p.qmin, p.qmax), s, z);
  }
  return out;
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * Whether every int32 bias value fits at scale inputScale · weightScale[c]:
 * |bias[c]| / float32(inputScale · weightScale[c]) ≤ 2^31 − 1 (a NaN bias never fits). When it
 * does not, the kernel keeps the bias in higher precision (DESIGN.md §4, bias rule).
 * `weightScales` has one entry (per tensor) or one per output channel.
 */
export function biasFitsInt32(bias: ArrayLike<number>, inputScale: number, weightScales: ArrayLike<number>): boolean {
  for (let c = 0; c < bias.length; c++) {
    const s = Math.fround(Math.fround(inputScale) * weightScales[weightScales.length === 1 ? 0 : c]);
    const q = Math.abs(bias[c]) / s;
    if (!(q <= INT32_MAX)) return false;
  }
  return true;
}

/**
 * The int32 bias of a quantized Conv/Gemm: scale[c] = float32(inputScale · weightScale[c]),
 * value[c] = roundHalfEven(bias[c] / scale[c]) saturated to int32 (see biasFitsInt32).
 */
export function quantizeBias(
  bias: ArrayLike<number>,
  inputScale: number,
  weightScales: ArrayLike<number>,
): { values: Int32Array; scales: Float32Array } {
  const values = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const s = Math.fround(Math.fround(inputScale) * weightScales[weightScales.length === 1 ? 0 : c]);
    scales[c] = s;
    const q = roundHalfEven(bias[c] / s);
    values[c] = Number.isNaN(q) ? 0 : Math.min(INT32_MAX, Math.max(-INT32_MAX - 1, q));
  }
  return { values, scales };
}
