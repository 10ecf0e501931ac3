import ort from 'onnxruntime-node';
import type { DType } from '../core/dtype.js';
import { InternalError } from '../core/errors.js';
import { makeTensor, type Tensor, type TensorData } from '../core/tensor.js';
import type { WireTensor } from './ort-wire.js';

/**
 * The one table from core dtypes to onnxruntime's type strings; the inverse is derived. int4 and
 * uint4 are left out on purpose: onnxruntime-node 1.30's binding rejects them as feeds ("Tensor.type
 * is not supported") and aborts the whole process (V8 out of memory) when it returns one.
 */
const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
};
const CORE_TYPE = new Map<string, DType>(Object.entries(ORT_TYPE).map(([k, v]) => [v as string, k as DType]));

/** Whether onnxruntime-node can pass tensors of this dtype in or out (not bfloat16, float8, int4, complex). */
export function isOrtDType(dtype: DType): boolean {
  return ORT_TYPE[dtype] !== undefined;
}

/** The core dtype of an onnxruntime type string, undefined for one that cannot cross the binding. */
export function dtypeOfOrtType(type: string): DType | undefined {
  return CORE_TYPE.get(type);
}

export function ortTypeOf(dtype: DType): ort.Tensor.Type {
  const t = ORT_TYPE[dtype];
  if (!t) throw new InternalError(`onnxruntime has no tensor type for ${dtype}`);
  return t;
}

export function toOrtTensor(t: Tensor): ort.Tensor {
  const type = ortTypeOf(t.dtype);
  const dims = [...t.dims];
  if (type === 'string') return new ort.Tensor('string', [...(t.data as readonly string[])], dims);
  return new ort.Tensor(type, t.data as Exclude<TensorData, readonly string[]>, dims);
}

export function fromOrtTensor(t: ort.Tensor): Tensor {
  const dtype = CORE_TYPE.get(t.type);
  if (!dtype) throw new InternalError(`onnxruntime returned a tensor of unsupported type ${t.type}`);
  let data = t.data as unknown as TensorData;
  // float16 may arrive as a Float16Array on runtimes that have one; core keeps the raw bits.
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    data = new Uint16Array(
      (data as unknown as { buffer: ArrayBuffer; byteOffset: number; length: number }).buffer,
      (data as unknown as { byteOffset: number }).byteOffset,
      (data as unknown as { length: number }).length,
    );
  }
  if (dtype === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data as ArrayLike<number>);
  return makeTensor(dtype, t.dims.map(Number), data);
}

/** A core tensor as it crosses to the onnxruntime thread (ort-remote.ts): type string, dims, data (copied there). */
export function toWireTensor(t: Tensor): WireTensor {
  const type = ortTypeOf(t.dtype);
  return { type, dims: [...t.dims], data: type === 'string' ? [...(t.data as readonly string[])] : (t.data as ArrayBufferView) };
}

/** A tensor back from the onnxruntime thread, as fromOrtTensor reads an onnxruntime tensor. */
export function fromWireTensor(w: WireTensor): Tensor {
  const dtype = CORE_TYPE.get(w.type);
  if (!dtype) throw new InternalError(`onnxruntime returned a tensor of unsupported type ${w.type}`);
  let data = w.data as unknown as TensorData;
  if (dtype === 'float16' && !(data instanceof Uint16Array)) {
    const view = data as unknown as ArrayBufferView & { length: number };
    data = new Uint16Array(view.buffer, view.byteOffset, view.length);
  }
  if (dtype === 'bool' && !(data instanceof Uint8Array)) data = Uint8Array.from(data as ArrayLike<number>);
  return makeTensor(dtype, w.dims, data);
}
