import { quantileSorted } from 'simple-statistics';
import { bfloat16ToFloat, halfToFloat } from '../core/float16.js';
import type { Tensor } from '../core/tensor.js';
import type { ErrorPercentiles } from './metrics-types.js';

/** The indices floor(k·n/size), k = 0..size−1: evenly strided, deterministic, all of them when n <= size. */
export function sampleIndices(n: number, size: number): number[] {
  if (n <= size) return Array.from({ length: n }, (_, i) => i);
  const out = new Array<number>(size);
  for (let k = 0; k < size; k++) out[k] = Math.floor((k * n) / size);
  return out;
}

/** Percentiles of |x − y| over the sampled pairs where it is finite (numpy's linear method); zeros when there are none. */
export function samplePercentiles(ref: Tensor, test: Tensor, size: number): ErrorPercentiles {
  const x = elementReader(ref);
  const y = elementReader(test);
  const errors: number[] = [];
  for (const i of sampleIndices(ref.data.length, size)) {
    const d = Math.abs(x(i) - y(i));
    if (Number.isFinite(d)) errors.push(d);
  }
  if (errors.length === 0) return { p50: 0, p90: 0, p99: 0 };
  errors.sort((a, b) => a - b);
  const p = { p50: quantileSorted(errors, 0.5), p90: quantileSorted(errors, 0.9), p99: quantileSorted(errors, 0.99) };
  return errors.length >= 1000 ? { ...p, p999: quantileSorted(errors, 0.999) } : p;
}

function elementReader(t: Tensor): (i: number) => number {
  const d = t.data;
  if (t.dtype === 'float16') return (i) => halfToFloat((d as Uint16Array)[i]);
  if (t.dtype === 'bfloat16') return (i) => bfloat16ToFloat((d as Uint16Array)[i]);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return (i) => Number(d[i]);
  const a = d as ArrayLike<number>;
  return (i) => a[i];
}
