import { bytesPerElement, dtypeInfo, lanes, type DType } from './dtype.js';
import { displayName } from './closest.js';
import { bfloat16ToFloat, halfToFloat } from './float16.js';

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly string[];

/**
 * A tensor: element type, dimensions and a typed array in C order. Readonly data; built only by
 * `makeTensor`, which checks that the array kind matches the dtype and that its length is the
 * product of the dims (times 2 for complex types).
 */
export interface Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function arrayKindOf(data: TensorData): string {
  if (Array.isArray(data)) return 'string[]';
  return (data as { constructor: { name: string } }).constructor.name;
}

export function makeTensor(dtype: DType, dims: readonly number[], data: TensorData): Tensor {
  const info = dtypeInfo(dtype);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`tensor dimension ${d} is not a non-negative integer`);
  }
  const kind = arrayKindOf(data);
  if (kind !== info.array) throw new TypeError(`a ${dtype} tensor needs a ${info.array}, got ${kind}`);
  const expected = elementCount(dims) * lanes(dtype);
  if (data.length !== expected) {
    throw new RangeError(`a ${dtype} tensor of dims [${dims.join(',')}] needs ${expected} elements, got ${data.length}`);
  }
  return Object.freeze({ dtype, dims: Object.freeze([...dims]), data });
}

/** A zero-filled tensor of the given type and shape. */
export function zeros(dtype: DType, dims: readonly number[]): Tensor {
  return makeTensor(dtype, dims, allocate(dtype, elementCount(dims) * lanes(dtype)));
}

export function allocate(dtype: DType, length: number): TensorData {
  switch (dtypeInfo(dtype).array) {
    case 'Float32Array':
      return new Float32Array(length);
    case 'Float64Array':
      return new Float64Array(length);
    case 'Int8Array':
      return new Int8Array(length);
    case 'Uint8Array':
      return new Uint8Array(length);
    case 'Int16Array':
      return new Int16Array(length);
    case 'Uint16Array':
      return new Uint16Array(length);
    case 'Int32Array':
      return new Int32Array(length);
    case 'Uint32Array':
      return new Uint32Array(length);
    case 'BigInt64Array':
      return new BigInt64Array(length);
    case 'BigUint64Array':
      return new BigUint64Array(length);
    case 'string[]':
      return new Array<string>(length).fill('');
  }
}

/** Bytes the tensor's elements take in memory (strings counted by their UTF-16 length). */
export function byteSize(t: Tensor): number {
  if (t.dtype === 'string') return (t.data as readonly string[]).reduce((s, x) => s + x.length * 2, 0);
  return t.data.length * bytesPerElement(t.dtype);
}

export function isNumeric(t: Tensor): boolean {
  return dtypeInfo(t.dtype).numeric;
}

/**
 * The values as float32 (float16 and bfloat16 decoded, integers converted, bool as 0/1).
 * A float32 tensor's own array is returned without copying. Throws for string and complex data.
 */
export function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  return toFloatArray(t, new Float32Array(t.data.length)) as Float32Array;
}

/** The values as float64 (see toFloat32). A float64 tensor's own array is returned without copying. */
export function toFloat64(t: Tensor): Float64Array {
  if (t.dtype === 'float64') return t.data as Float64Array;
  return toFloatArray(t, new Float64Array(t.data.length)) as Float64Array;
}

function toFloatArray(t: Tensor, out: Float32Array | Float64Array): Float32Array | Float64Array {
  const info = dtypeInfo(t.dtype);
  if (!info.numeric) throw new TypeError(`${t.dtype} values cannot be read as numbers`);
  const d = t.data;
  if (t.dtype === 'float16') {
    const h = d as Uint16Array;
    for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
  } else if (t.dtype === 'bfloat16') {
    const h = d as Uint16Array;
    for (let i = 0; i < h.length; i++) out[i] = bfloat16ToFloat(h[i]);
  } else if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  } else {
    out.set(d as ArrayLike<number>);
  }
  return out;
}

/** `[1,3,N,?]`; symbolic dims come from model files and are shown escaped (displayName). */
export function formatDims(dims: readonly (number | string | null)[] | undefined): string {
  if (!dims) return '?';
  return `[${dims.map((d) => (d === null ? '?' : typeof d === 'string' ? displayName(d, 40) : String(d))).join(',')}]`;
}
