import { bfloat16ToFloat, halfToFloat } from '../core/float16.js';
import type { Tensor } from '../core/tensor.js';

/** Elements read at a time: float32/float64 data is read in place, other dtypes through a scratch block this long. */
export const BLOCK = 1 << 16;

export type Block = Float32Array | Float64Array;

let halfTable: Float64Array | undefined;
let bfloatTable: Float64Array | undefined;

/** Returns (start, end) => the elements as a float array, without copying float32/float64 data. */
export function blockReader(t: Tensor): (s: number, e: number) => Block {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return (s, e) => d.subarray(s, e);
  const scratch = new Float64Array(Math.min(BLOCK, d.length));
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const table = t.dtype === 'float16' ? (halfTable ??= decodeTable(halfToFloat)) : (bfloatTable ??= decodeTable(bfloat16ToFloat));
    const h = d as Uint16Array;
    return (s, e) => {
      for (let i = s; i < e; i++) scratch[i - s] = table[h[i]];
      return scratch;
    };
  }
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    return (s, e) => {
      for (let i = s; i < e; i++) scratch[i - s] = Number(d[i]);
      return scratch;
    };
  }
  const a = d as ArrayLike<number>;
  return (s, e) => {
    for (let i = s; i < e; i++) scratch[i - s] = a[i];
    return scratch;
  };
}

function decodeTable(decode: (bits: number) => number): Float64Array {
  const table = new Float64Array(65536);
  for (let b = 0; b < 65536; b++) table[b] = decode(b);
  return table;
}
