import { dtypeInfo } from '../../src/core/dtype.js';
import { bfloat16ToFloat, halfToFloat } from '../../src/core/float16.js';
import type { Tensor } from '../../src/core/tensor.js';

/** Elementwise tolerance: |actual - expected| <= atol + rtol * |expected| (numpy's allclose form). */
export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Element i of a float tensor as a number (float16/bfloat16 decoded from their bits). */
function floatAt(t: Tensor, i: number): number {
  if (t.dtype === 'float16') return halfToFloat((t.data as Uint16Array)[i]);
  if (t.dtype === 'bfloat16') return bfloat16ToFloat((t.data as Uint16Array)[i]);
  return (t.data as Float32Array | Float64Array)[i];
}

/**
 * Why `actual` differs from `expected`, in one line, or undefined when they agree. Dtypes and dims
 * must be identical. Float elements (float32/64, float16, bfloat16, complex lanes) agree when both
 * are NaN, when both are the same infinity, or when finite and within `tol` (asymmetric: the bound
 * scales with the expected value). Everything else (integers, int64 as BigInt, bool, strings, and
 * float8/float4 bit patterns) must be exactly equal.
 */
export function tensorMismatch(actual: Tensor, expected: Tensor, tol: Tolerance): string | undefined {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.dims.length !== expected.dims.length || actual.dims.some((d, i) => d !== expected.dims[i])) {
    return `dims [${actual.dims.join(',')}], expected [${expected.dims.join(',')}]`;
  }
  const info = dtypeInfo(expected.dtype);
  const approximate = info.isFloat && (info.numeric || expected.dtype.startsWith('complex'));
  let bad = 0;
  let first = -1;
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    let ok: boolean;
    if (approximate) {
      const a = floatAt(actual, i);
      const e = floatAt(expected, i);
      if (Number.isNaN(e) || Number.isNaN(a)) ok = Number.isNaN(e) && Number.isNaN(a);
      else if (!Number.isFinite(e) || !Number.isFinite(a)) ok = a === e;
      else {
        const diff = Math.abs(a - e);
        ok = diff <= tol.atol + tol.rtol * Math.abs(e);
        if (!ok) worst = Math.max(worst, diff);
      }
    } else {
      ok = actual.data[i] === expected.data[i];
    }
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return undefined;
  const show = (t: Tensor): string => String(approximate ? floatAt(t, first) : t.data[first]);
  const worstText = worst > 0 ? `, max |diff| ${worst.toPrecision(3)}` : '';
  return `${bad}/${expected.data.length} elements differ (first at ${first}: ${show(actual)} vs ${show(expected)}${worstText})`;
}
