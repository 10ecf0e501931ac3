import { dtypeFromOnnx, onnxFromDType } from '../core/dtype.js';
import type { Dim, ValueInfo } from '../core/graph.js';
import { int64ToNumber, numberToInt64 } from './int64.js';
import type { DimensionProto, TensorShapeProto, TypeProto, ValueInfoProto } from './proto-types.js';

/**
 * ValueInfoProto <-> core ValueInfo. Only tensor (and sparse tensor) types carry a dtype and a
 * shape into the view; sequence, map, optional and opaque types appear with neither, and their
 * TypeProto stays untouched in the model.
 *
 * Dims: dim_value -> number, dim_param -> string, neither -> null. An absent shape is an unknown
 * rank (shape undefined); a present shape with no dims is a scalar ([]).
 */

/** Whether a decoded or hand-built message really carries `key` (protobufjs keeps defaults on the prototype). */
export function has(message: object | undefined | null, key: string): boolean {
  if (message === undefined || message === null) return false;
  if (!Object.prototype.hasOwnProperty.call(message, key)) return false;
  const v = (message as Record<string, unknown>)[key];
  return v !== undefined && v !== null;
}

function dimFromProto(d: DimensionProto): Dim {
  if (has(d, 'dim_value')) return int64ToNumber(d.dim_value);
  if (has(d, 'dim_param')) return d.dim_param as string;
  return null;
}

export function shapeFromProto(shape: TensorShapeProto | undefined | null): Dim[] | undefined {
  if (!shape) return undefined;
  return (shape.dim ?? []).map(dimFromProto);
}

export function valueInfoFromProto(v: ValueInfoProto): ValueInfo {
  const name = v.name ?? '';
  const tensorType = v.type?.tensor_type ?? v.type?.sparse_tensor_type;
  if (!tensorType) return { name };
  const dtype = dtypeFromOnnx(tensorType.elem_type ?? 0);
  const shape = shapeFromProto(tensorType.shape);
  return {
    name,
    ...(dtype === undefined ? {} : { dtype }),
    ...(shape === undefined ? {} : { shape }),
  };
}

export function shapeToProto(shape: readonly Dim[]): TensorShapeProto {
  return {
    dim: shape.map((d): DimensionProto => {
      if (typeof d === 'number') return { dim_value: numberToInt64(d) };
      if (typeof d === 'string') return { dim_param: d };
      return {};
    }),
  };
}

/** A ValueInfoProto; the type is written only when the dtype is known. */
export function valueInfoToProto(v: ValueInfo): ValueInfoProto {
  if (v.dtype === undefined) return { name: v.name };
  const type: TypeProto = {
    tensor_type: {
      elem_type: onnxFromDType(v.dtype),
      ...(v.shape === undefined ? {} : { shape: shapeToProto(v.shape) }),
    },
  };
  return { name: v.name, type };
}
