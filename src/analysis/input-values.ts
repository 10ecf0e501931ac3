import { createHash } from 'node:crypto';
import { displayName } from '../core/closest.js';
import { dtypeInfo, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { floatToBfloat16, floatToHalf } from '../core/float16.js';
import { allocate, elementCount, makeTensor, type Tensor } from '../core/tensor.js';

/** The values of model inputs quantscope makes itself: synthetic inputs, and floats cast to an input's type. */

/** Float values into a tensor of `dtype`: floats rounded to the type, integers rounded and clamped. */
export function castFloats(values: Float32Array | Float64Array, dtype: DType, dims: readonly number[], name: string): Tensor {
  const data = allocate(dtype, values.length);
  if (dtype === 'float32' || dtype === 'float64') (data as Float32Array).set(values);
  else if (dtype === 'float16')
    values.forEach((v, i) => {
      (data as Uint16Array)[i] = floatToHalf(v);
    });
  else if (dtype === 'bfloat16')
    values.forEach((v, i) => {
      (data as Uint16Array)[i] = floatToBfloat16(v);
    });
  else if (dtype === 'bool')
    values.forEach((v, i) => {
      (data as Uint8Array)[i] = v > 0.5 ? 1 : 0;
    });
  else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const lo = data instanceof BigUint64Array ? 0 : Number.MIN_SAFE_INTEGER;
    values.forEach((v, i) => {
      data[i] = BigInt(Math.max(lo, Math.round(v)));
    });
  } else if (dtypeInfo(dtype).numeric && !dtypeInfo(dtype).isFloat && dtypeInfo(dtype).bits >= 8) {
    const bits = dtypeInfo(dtype).bits;
    const signed = data instanceof Int8Array || data instanceof Int16Array || data instanceof Int32Array;
    const lo = signed ? -(2 ** (bits - 1)) : 0;
    const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    const out = data as Int32Array;
    values.forEach((v, i) => {
      out[i] = Math.min(hi, Math.max(lo, Math.round(v)));
    });
  } else {
    throw new UserError(
      `Input '${displayName(name)}' is ${dtype}, for which quantscope cannot make values; give a tensor file with --input.`,
    );
  }
  return makeTensor(dtype, dims, data);
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns values in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A deterministic synthetic input: the same name, dtype, dims and seed always give the same
 * tensor (the PRNG is seeded from sha256 of seed and name, so inputs differ from each other).
 * - image-like [N,3,H,W] or [N,H,W,3]: smooth colour waves plus a little noise, in 0..255;
 * - other numeric inputs: a slow sine plus Gaussian noise, mean 0, standard deviation about 0.9;
 * - integer types: image-like values rounded; otherwise small non-negative integers 0..9;
 * - bool: random 0/1.
 * The caller checks that the machine can hold it (app/inputs.ts resolveInputs).
 */
export function synthesizeInput(name: string, dtype: DType, dims: readonly number[], seed = 0): Tensor {
  const digest = createHash('sha256').update(`${seed}\0${name}`).digest();
  const random = prng(digest.readUInt32LE(0));
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const n = elementCount(dims);
  const values = new Float64Array(n);
  const info = dtypeInfo(dtype);
  const nchw = dims.length === 4 && dims[1] === 3;
  const nhwc = dims.length === 4 && dims[3] === 3 && !nchw;
  if (nchw || nhwc) {
    const [h, w] = nchw ? [dims[2], dims[3]] : [dims[1], dims[2]];
    for (let i = 0; i < n; i++) {
      const c = nchw ? Math.floor(i / (h * w)) % 3 : i % 3;
      const p = nchw ? i % (h * w) : Math.floor(i / 3) % (h * w);
      const y = Math.floor(p / w) / Math.max(1, h);
      const x = (p % w) / Math.max(1, w);
      const v =
        127.5 +
        80 * Math.sin(2 * Math.PI * (1.5 * x + c / 3)) * Math.cos(2 * Math.PI * (y + c / 5)) +
        30 * Math.sin((2 * Math.PI * 3 * (x + y)) / 2) +
        8 * gauss();
      values[i] = Math.min(255, Math.max(0, v));
    }
  } else if (dtype === 'bool') {
    for (let i = 0; i < n; i++) values[i] = random() < 0.5 ? 0 : 1;
  } else if (info.isFloat) {
    const phase = random() * 2 * Math.PI;
    for (let i = 0; i < n; i++) values[i] = 0.6 * Math.sin(i * 0.05 + phase) + 0.8 * gauss();
  } else {
    for (let i = 0; i < n; i++) values[i] = Math.floor(random() * 10);
  }
  return castFloats(values, dtype, dims, name);
}
