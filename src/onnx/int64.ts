import { UserError } from '../core/errors.js';
import type { Int64, LongLike } from './proto-types.js';

/**
 * int64 values at the protobuf boundary. protobufjs decodes int64/uint64 as `Long` objects (or as
 * plain numbers when long.js is absent); these helpers turn them into numbers or bigints so that
 * no `Long` leaves src/onnx/.
 */

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v;
}

/** The exact value as a bigint (signed unless the Long says unsigned). */
export function int64ToBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') return BigInt(v);
  if (!isLongLike(v)) return 0n;
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return v.unsigned ? bits : BigInt.asIntN(64, bits);
}

/**
 * The value as a number, or a UserError naming `what` when it is not a safe integer
 * (|v| > 2^53 - 1). Used for dims, versions, offsets: anything that must be exact.
 */
export function int64ToSafeNumber(v: Int64 | undefined | null, what: string): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    throw new UserError(`${what} is ${v}, which is not an integer that quantscope can handle exactly.`);
  }
  const b = int64ToBigInt(v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new UserError(`${what} is ${b}, which is beyond the exactly representable range of ±2^53.`);
  }
  return Number(b);
}

/**
 * The value as the nearest number. Attribute values such as Slice's `ends = INT64_MAX` are
 * legitimately beyond 2^53; the view rounds them (INT64_MAX becomes 9223372036854775807 → 2^63)
 * while the proto keeps the exact value.
 */
export function int64ToNumber(v: Int64 | undefined | null): number {
  if (typeof v === 'number') return v;
  return Number(int64ToBigInt(v));
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A bigint as a Long-like for protobufjs, wrapped to 64 bits (two's complement). */
export function bigIntToInt64(v: bigint, unsigned = false): Int64 {
  const bits = BigInt.asUintN(64, v);
  const low = Number(bits & 0xffffffffn) | 0;
  const high = Number(bits >> 32n) | 0;
  if (!unsigned && high === 0 && low >= 0) return low;
  return { low, high, unsigned };
}

/**
 * A number for an int64 field. Safe integers are written as they are; larger magnitudes are
 * clamped to the int64 range (so 2^63, the view's rounding of INT64_MAX, is written back as
 * INT64_MAX). Non-integers are a caller bug.
 */
export function numberToInt64(v: number): Int64 {
  if (Number.isSafeInteger(v)) return v;
  if (Number.isNaN(v) || !Number.isInteger(v)) {
    if (v === Number.POSITIVE_INFINITY) return bigIntToInt64(INT64_MAX);
    if (v === Number.NEGATIVE_INFINITY) return bigIntToInt64(INT64_MIN);
    throw new RangeError(`int64 value ${v} is not an integer`);
  }
  let b = BigInt(v);
  if (b > INT64_MAX) b = INT64_MAX;
  if (b < INT64_MIN) b = INT64_MIN;
  return bigIntToInt64(b);
}
