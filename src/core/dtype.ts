/**
 * The one table of element types: ONNX TensorProto.DataType number, numpy descriptor, size, and
 * the typed array that holds the elements in a core Tensor. Every other mapping is derived from it.
 *
 * Storage policy: float16, bfloat16 and the float8 types keep their raw bits (Uint16Array /
 * Uint8Array); int4/uint4/float4 are unpacked to one element per byte; int64/uint64 use BigInt
 * arrays; bool uses Uint8Array (0/1); string uses a plain string array.
 */
export type DType =
  | 'float32'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'string'
  | 'bool'
  | 'float16'
  | 'float64'
  | 'uint32'
  | 'uint64'
  | 'complex64'
  | 'complex128'
  | 'bfloat16'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'uint4'
  | 'int4'
  | 'float4e2m1';

export type TypedArrayKind =
  | 'Float32Array'
  | 'Float64Array'
  | 'Int8Array'
  | 'Uint8Array'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'BigInt64Array'
  | 'BigUint64Array'
  | 'string[]';

export interface DTypeInfo {
  readonly dtype: DType;
  /** TensorProto.DataType enum value. */
  readonly onnx: number;
  /** Bits per element as stored in ONNX raw_data (4 for int4, 64 for complex64 = 2 x float32 ... see bytes). */
  readonly bits: number;
  /** numpy dtype descriptor (little-endian) where numpy has one. */
  readonly numpy: string | null;
  /** The typed array kind that holds the elements in a core Tensor. */
  readonly array: TypedArrayKind;
  /** Whether metrics can read the values as real numbers. */
  readonly numeric: boolean;
  readonly isFloat: boolean;
}

const rows: readonly DTypeInfo[] = [
  { dtype: 'float32', onnx: 1, bits: 32, numpy: '<f4', array: 'Float32Array', numeric: true, isFloat: true },
  { dtype: 'uint8', onnx: 2, bits: 8, numpy: '|u1', array: 'Uint8Array', numeric: true, isFloat: false },
  { dtype: 'int8', onnx: 3, bits: 8, numpy: '|i1', array: 'Int8Array', numeric: true, isFloat: false },
  { dtype: 'uint16', onnx: 4, bits: 16, numpy: '<u2', array: 'Uint16Array', numeric: true, isFloat: false },
  { dtype: 'int16', onnx: 5, bits: 16, numpy: '<i2', array: 'Int16Array', numeric: true, isFloat: false },
  { dtype: 'int32', onnx: 6, bits: 32, numpy: '<i4', array: 'Int32Array', numeric: true, isFloat: false },
  { dtype: 'int64', onnx: 7, bits: 64, numpy: '<i8', array: 'BigInt64Array', numeric: true, isFloat: false },
  { dtype: 'string', onnx: 8, bits: 0, numpy: null, array: 'string[]', numeric: false, isFloat: false },
  { dtype: 'bool', onnx: 9, bits: 8, numpy: '|b1', array: 'Uint8Array', numeric: true, isFloat: false },
  { dtype: 'float16', onnx: 10, bits: 16, numpy: '<f2', array: 'Uint16Array', numeric: true, isFloat: true },
  { dtype: 'float64', onnx: 11, bits: 64, numpy: '<f8', array: 'Float64Array', numeric: true, isFloat: true },
  { dtype: 'uint32', onnx: 12, bits: 32, numpy: '<u4', array: 'Uint32Array', numeric: true, isFloat: false },
  { dtype: 'uint64', onnx: 13, bits: 64, numpy: '<u8', array: 'BigUint64Array', numeric: true, isFloat: false },
  // Complex values are held as interleaved (re, im) pairs; they are parsed and reported, not compared.
  { dtype: 'complex64', onnx: 14, bits: 64, numpy: '<c8', array: 'Float32Array', numeric: false, isFloat: true },
  { dtype: 'complex128', onnx: 15, bits: 128, numpy: '<c16', array: 'Float64Array', numeric: false, isFloat: true },
  { dtype: 'bfloat16', onnx: 16, bits: 16, numpy: null, array: 'Uint16Array', numeric: true, isFloat: true },
  { dtype: 'float8e4m3fn', onnx: 17, bits: 8, numpy: null, array: 'Uint8Array', numeric: false, isFloat: true },
  { dtype: 'float8e4m3fnuz', onnx: 18, bits: 8, numpy: null, array: 'Uint8Array', numeric: false, isFloat: true },
  { dtype: 'float8e5m2', onnx: 19, bits: 8, numpy: null, array: 'Uint8Array', numeric: false, isFloat: true },
  { dtype: 'float8e5m2fnuz', onnx: 20, bits: 8, numpy: null, array: 'Uint8Array', numeric: false, isFloat: true },
  { dtype: 'uint4', onnx: 21, bits: 4, numpy: null, array: 'Uint8Array', numeric: true, isFloat: false },
  { dtype: 'int4', onnx: 22, bits: 4, numpy: null, array: 'Int8Array', numeric: true, isFloat: false },
  { dtype: 'float4e2m1', onnx: 23, bits: 4, numpy: null, array: 'Uint8Array', numeric: false, isFloat: true },
];

const byName = new Map<string, DTypeInfo>(rows.map((r) => [r.dtype, r]));
const byOnnx = new Map<number, DTypeInfo>(rows.map((r) => [r.onnx, r]));
const byNumpy = new Map<string, DTypeInfo>(rows.filter((r) => r.numpy !== null).map((r) => [r.numpy as string, r]));

export const ALL_DTYPES: readonly DType[] = rows.map((r) => r.dtype);

export function dtypeInfo(dtype: DType): DTypeInfo {
  const info = byName.get(dtype);
  if (!info) throw new RangeError(`unknown dtype '${String(dtype)}'`);
  return info;
}

export function isDType(name: string): name is DType {
  return byName.has(name);
}

/** Parses a user-given dtype name (also accepts numpy-style aliases such as 'f4', 'float', 'half'). */
export function parseDType(name: string): DType | undefined {
  const aliases: Record<string, DType> = {
    float: 'float32',
    f4: 'float32',
    f32: 'float32',
    fp32: 'float32',
    double: 'float64',
    f8: 'float64',
    f64: 'float64',
    half: 'float16',
    f2: 'float16',
    fp16: 'float16',
    f16: 'float16',
    i1: 'int8',
    u1: 'uint8',
    i2: 'int16',
    u2: 'uint16',
    i4: 'int32',
    u4: 'uint32',
    i8: 'int64',
    u8: 'uint64',
    bf16: 'bfloat16',
  };
  const lower = name.toLowerCase();
  if (byName.has(lower)) return lower as DType;
  return aliases[lower];
}

/** The dtype of an ONNX TensorProto.DataType value; undefined for 0 (UNDEFINED) or unknown values. */
export function dtypeFromOnnx(code: number): DType | undefined {
  return byOnnx.get(code)?.dtype;
}

export function onnxFromDType(dtype: DType): number {
  return dtypeInfo(dtype).onnx;
}

/** The dtype of a numpy descriptor such as '<f4' or '|u1'; '=' and native order are read as little-endian. */
export function dtypeFromNumpy(descr: string): DType | undefined {
  const normalized = descr.replace(/^=/, '<');
  return (
    byNumpy.get(normalized)?.dtype ??
    byNumpy.get(normalized.replace(/^</, '|'))?.dtype ??
    byNumpy.get(normalized.replace(/^\|/, '<'))?.dtype
  );
}

/** Bytes one element takes in a core Tensor's typed array. */
export function bytesPerElement(dtype: DType): number {
  switch (dtypeInfo(dtype).array) {
    case 'Float64Array':
    case 'BigInt64Array':
    case 'BigUint64Array':
      return 8;
    case 'Float32Array':
    case 'Int32Array':
    case 'Uint32Array':
      return 4;
    case 'Int16Array':
    case 'Uint16Array':
      return 2;
    case 'Int8Array':
    case 'Uint8Array':
      return 1;
    case 'string[]':
      return 0;
  }
}

/** Elements of the backing array per logical element (2 for complex, which is stored as pairs). */
export function lanes(dtype: DType): number {
  return dtype === 'complex64' || dtype === 'complex128' ? 2 : 1;
}
