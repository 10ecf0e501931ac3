/** IEEE 754 half precision and bfloat16 conversions, bit-exact, round half to even. */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Decodes float16 bits to a number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Encodes a number as float16 bits, rounding to nearest even; overflow gives infinity. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rem > half || (rem === half && r & 1)) r += 1;
    return sign | r;
  }
  const rem = mant & 0x1fff;
  let r = (e << 10) | (mant >>> 13);
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r += 1;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity (0x7c00).
  e = r;
  return sign | e;
}

export function bfloat16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

export function floatToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Rounds every value through float16 storage precision (what an fp16 tensor holds). */
export function roundThroughHalf(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfToFloat(floatToHalf(values[i]));
  return out;
}
