import { endianness } from 'node:os';
import { InternalError, UserError, messageOf } from '../core/errors.js';
import { bytesPerElement, dtypeFromOnnx, dtypeInfo, lanes, onnxFromDType, type DType } from '../core/dtype.js';
import { allocate, makeTensor, type Tensor, type TensorData } from '../core/tensor.js';
import { displayName } from '../core/closest.js';
import { externalDataRef, readExternalData } from './external-data.js';
import { int64ToBigInt, int64ToSafeNumber } from './int64.js';
import type { TensorProto } from './proto-types.js';
import { DATA_LOCATION_EXTERNAL, decodeTensorProto, encodeTensorProto } from './schema.js';

/**
 * TensorProto <-> core Tensor.
 *
 * Decoding reads, in this order: external data (data_location EXTERNAL, or external_data entries
 * with no raw_data), raw_data (fixed-width little endian; bool one byte each; int4/uint4/float4e2m1
 * two per byte, low nibble first), then the typed field for the dtype: float_data (float32,
 * complex64), double_data (float64, complex128), int32_data (int8/16, uint8/16, int32, bool, the
 * bits of float16/bfloat16/float8, and 4-bit types packed two per entry), int64_data (int64),
 * uint64_data (uint32, uint64), string_data (UTF-8). Sizes are validated against dims before
 * anything is allocated; every mismatch is a UserError naming the tensor.
 *
 * Encoding always writes raw_data (string_data for strings), which is what onnxruntime reads fastest.
 */

export interface TensorContext {
  /** Directory external data paths are relative to; undefined when the bytes did not come from a file. */
  readonly baseDir?: string;
  /** Where the tensor lives, for messages: e.g. "'conv1.weight' in 'model.onnx'". */
  readonly what: string;
}

const littleEndian = endianness() === 'LE';
const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** A readable label for a tensor in messages: "'name' in 'file'". */
export function tensorLabel(name: string | undefined, source?: string): string {
  const shown = name ? `'${displayName(name)}'` : '(unnamed)';
  return source ? `${shown} in '${displayName(source)}'` : shown;
}

function isPacked4(dtype: DType): boolean {
  return dtypeInfo(dtype).bits === 4;
}

/** Bytes the elements take in raw_data. */
export function rawByteLength(dtype: DType, count: number): number {
  if (isPacked4(dtype)) return Math.ceil(count / 2);
  return count * lanes(dtype) * bytesPerElement(dtype);
}

export function tensorDType(proto: TensorProto, what: string): DType {
  const code = proto.data_type ?? 0;
  const dtype = dtypeFromOnnx(code);
  if (dtype === undefined) {
    throw new UserError(
      code === 0 ? `Tensor ${what} has no data type.` : `Tensor ${what} has data type ${code}, which quantscope does not support.`,
    );
  }
  return dtype;
}

export function tensorDims(proto: TensorProto, what: string): number[] {
  return (proto.dims ?? []).map((d, i) => {
    const n = int64ToSafeNumber(d, `Dimension ${i} of tensor ${what}`);
    if (n < 0) throw new UserError(`Tensor ${what} has negative dimension ${n}.`);
    return n;
  });
}

function hasBytes(b: Uint8Array | undefined): b is Uint8Array {
  return b !== undefined && b !== null && b.length > 0;
}

export function isExternal(proto: TensorProto): boolean {
  if (proto.data_location === DATA_LOCATION_EXTERNAL) return true;
  return (proto.external_data?.length ?? 0) > 0 && !hasBytes(proto.raw_data);
}

/** Decodes a TensorProto message into a core Tensor (see the module comment for the policy). */
export function decodeTensor(proto: TensorProto, ctx: TensorContext): Tensor {
  const what = ctx.what;
  const dtype = tensorDType(proto, what);
  const dims = tensorDims(proto, what);
  if (proto.segment) {
    throw new UserError(`Tensor ${what} is stored in segments, which quantscope does not support.`);
  }
  let count = 1;
  for (const d of dims) count *= d;
  // A file may declare thousands of dims: the shape is cut for messages.
  const shape = displayName(`[${dims.join(',')}]`, 200);

  if (dtype === 'string') {
    const strings = proto.string_data ?? [];
    if (strings.length !== count)
      throw new UserError(`Tensor ${what} of shape ${shape} needs ${count} strings but holds ${strings.length}.`);
    return makeTensor(
      dtype,
      dims,
      strings.map((s) => utf8.decode(s)),
    );
  }

  if (isExternal(proto)) {
    const ref = externalDataRef(proto.external_data ?? [], what);
    const bytes = readExternalData(ref, ctx.baseDir, what, rawByteLength(dtype, count));
    return fromRaw(dtype, dims, count, bytes, what);
  }
  if (hasBytes(proto.raw_data)) {
    const need = rawByteLength(dtype, count);
    if (proto.raw_data.length !== need) {
      throw new UserError(
        `Tensor ${what} of shape ${shape} and type ${dtype} needs ${need} bytes of raw data but holds ${proto.raw_data.length}.`,
      );
    }
    return fromRaw(dtype, dims, count, proto.raw_data, what);
  }
  return fromTypedField(proto, dtype, dims, count, what);
}

function fromRaw(dtype: DType, dims: readonly number[], count: number, raw: Uint8Array, what: string): Tensor {
  if (!littleEndian) throw new InternalError('quantscope reads ONNX raw tensor data only on little-endian hosts');
  if (isPacked4(dtype)) {
    const out = dtype === 'int4' ? new Int8Array(count) : new Uint8Array(count);
    unpack4(dtype, (i) => raw[i], count, out);
    return makeTensor(dtype, dims, out);
  }
  // Copy into a fresh, aligned buffer: raw_data usually sits at an odd offset inside the model
  // bytes (and Buffer#slice would only make a view).
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const n = count * lanes(dtype);
  let data: TensorData;
  switch (dtypeInfo(dtype).array) {
    case 'Float32Array':
      data = new Float32Array(copy.buffer, 0, n);
      break;
    case 'Float64Array':
      data = new Float64Array(copy.buffer, 0, n);
      break;
    case 'Int8Array':
      data = new Int8Array(copy.buffer, 0, n);
      break;
    case 'Uint8Array':
      data = copy;
      break;
    case 'Int16Array':
      data = new Int16Array(copy.buffer, 0, n);
      break;
    case 'Uint16Array':
      data = new Uint16Array(copy.buffer, 0, n);
      break;
    case 'Int32Array':
      data = new Int32Array(copy.buffer, 0, n);
      break;
    case 'Uint32Array':
      data = new Uint32Array(copy.buffer, 0, n);
      break;
    case 'BigInt64Array':
      data = new BigInt64Array(copy.buffer, 0, n);
      break;
    case 'BigUint64Array':
      data = new BigUint64Array(copy.buffer, 0, n);
      break;
    case 'string[]':
      throw new InternalError(`string tensor ${what} reached the raw-data path`);
  }
  if (dtype === 'bool') {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) b[i] = b[i] ? 1 : 0;
  }
  return makeTensor(dtype, dims, data);
}

/** Unpacks 4-bit values, low nibble first; int4 is sign-extended. */
function unpack4(dtype: DType, byteAt: (i: number) => number, count: number, out: Int8Array | Uint8Array): void {
  for (let i = 0; i < count; i++) {
    const byte = byteAt(i >> 1) & 0xff;
    const nibble = i & 1 ? byte >> 4 : byte & 0x0f;
    out[i] = dtype === 'int4' && nibble & 0x8 ? nibble - 16 : nibble;
  }
}

type TypedField = 'float_data' | 'double_data' | 'int32_data' | 'int64_data' | 'uint64_data';

function typedFieldOf(dtype: DType): TypedField {
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return 'float_data';
    case 'float64':
    case 'complex128':
      return 'double_data';
    case 'int64':
      return 'int64_data';
    case 'uint32':
    case 'uint64':
      return 'uint64_data';
    default:
      return 'int32_data';
  }
}

function fromTypedField(proto: TensorProto, dtype: DType, dims: readonly number[], count: number, what: string): Tensor {
  const field = typedFieldOf(dtype);
  const values = (proto[field] ?? []) as readonly unknown[];
  const packed4 = isPacked4(dtype);
  const need = packed4 ? Math.ceil(count / 2) : count * lanes(dtype);
  if (values.length !== need) {
    const where = values.length === 0 ? 'no data' : `${values.length} values in ${field}`;
    throw new UserError(
      `Tensor ${what} of shape ${displayName(`[${dims.join(',')}]`, 200)} and type ${dtype} needs ${need} values but has ${where}.`,
    );
  }
  if (packed4) {
    const out = dtype === 'int4' ? new Int8Array(count) : new Uint8Array(count);
    const ints = values as readonly number[];
    unpack4(dtype, (i) => ints[i], count, out);
    return makeTensor(dtype, dims, out);
  }
  const data = allocate(dtype, need);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    const longs = values as Parameters<typeof int64ToBigInt>[0][];
    for (let i = 0; i < need; i++) {
      const b = int64ToBigInt(longs[i]);
      data[i] = data instanceof BigInt64Array ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
    }
  } else if (dtype === 'uint32') {
    const out = data as Uint32Array;
    const longs = values as Parameters<typeof int64ToBigInt>[0][];
    for (let i = 0; i < need; i++) out[i] = Number(BigInt.asUintN(32, int64ToBigInt(longs[i])));
  } else if (dtype === 'bool') {
    const out = data as Uint8Array;
    const ints = values as readonly number[];
    for (let i = 0; i < need; i++) out[i] = ints[i] ? 1 : 0;
  } else {
    // Typed-array assignment wraps integers to the element width, as the C++ reader's casts do.
    (data as Float32Array).set(values as readonly number[]);
  }
  return makeTensor(dtype, dims, data);
}

/** A TensorProto message holding the tensor in raw_data (string_data for strings). */
export function encodeTensor(tensor: Tensor, name: string): TensorProto {
  const base = { dims: [...tensor.dims], data_type: onnxFromDType(tensor.dtype), ...(name === '' ? {} : { name }) };
  if (tensor.dtype === 'string') {
    return { ...base, string_data: (tensor.data as readonly string[]).map((s) => utf8Encoder.encode(s)) };
  }
  if (!littleEndian) throw new InternalError('quantscope writes ONNX raw tensor data only on little-endian hosts');
  if (isPacked4(tensor.dtype)) {
    const values = tensor.data as Int8Array | Uint8Array;
    const out = new Uint8Array(Math.ceil(values.length / 2));
    for (let i = 0; i < values.length; i++) {
      const nibble = values[i] & 0x0f;
      out[i >> 1] |= i & 1 ? nibble << 4 : nibble;
    }
    return { ...base, raw_data: out };
  }
  const data = tensor.data as Exclude<TensorData, readonly string[]>;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { ...base, raw_data: raw };
}

/**
 * Parses a serialized TensorProto (an ONNX test-data `.pb` file, for instance). `source` names the
 * bytes in error messages; `baseDir` resolves external data, if the tensor uses it.
 */
export function tensorFromProto(bytes: Uint8Array, source?: string, options: { baseDir?: string } = {}): { name: string; tensor: Tensor } {
  const shown = source === undefined ? 'The tensor bytes are' : `File '${displayName(source)}' is`;
  let proto: TensorProto;
  try {
    proto = decodeTensorProto(bytes);
  } catch (error) {
    throw new UserError(`${shown} not an ONNX TensorProto (${messageOf(error)}).`, { cause: error });
  }
  const name = proto.name ?? '';
  const tensor = decodeTensor(proto, { baseDir: options.baseDir, what: tensorLabel(name, source) });
  return { name, tensor };
}

/** Serializes a tensor as a TensorProto with raw_data. */
export function tensorToProto(tensor: Tensor, name: string): Uint8Array {
  return encodeTensorProto(encodeTensor(tensor, name));
}
