import { InternalError, UserError } from '../core/errors.js';
import type { AttrValue } from '../core/graph.js';
import { int64ToNumber, numberToInt64 } from './int64.js';
import type { AttributeProto } from './proto-types.js';
import { AttributeType } from './schema.js';
import { decodeTensor, encodeTensor, type TensorContext } from './tensor-proto.js';
import { has } from './value-info.js';

/**
 * AttributeProto <-> core AttrValue. int64 values become numbers (beyond ±2^53 they are rounded in
 * the view; the proto keeps the exact value), STRING bytes are decoded as UTF-8, a TENSOR becomes a
 * core Tensor, a GRAPH becomes {kind:'graph'} (the subgraph stays in the proto). Everything else
 * (tensor lists, graph lists, sparse tensors, type protos, references to a function's attributes)
 * is {kind:'other'} with the AttributeProto type name in lower case.
 */

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

const typeNames = new Map<number, string>(Object.entries(AttributeType).map(([k, v]) => [v, k.toLowerCase()]));

/** IR version 1 files have no `type`; infer it from the field that is set, as onnx's checker does. */
function attributeType(a: AttributeProto): number {
  if (a.type) return a.type;
  if (has(a, 'f')) return AttributeType.FLOAT;
  if (has(a, 'i')) return AttributeType.INT;
  if (has(a, 's')) return AttributeType.STRING;
  if (has(a, 't')) return AttributeType.TENSOR;
  if (has(a, 'g')) return AttributeType.GRAPH;
  if (has(a, 'sparse_tensor')) return AttributeType.SPARSE_TENSOR;
  if (has(a, 'tp')) return AttributeType.TYPE_PROTO;
  if (a.floats?.length) return AttributeType.FLOATS;
  if (a.ints?.length) return AttributeType.INTS;
  if (a.strings?.length) return AttributeType.STRINGS;
  if (a.tensors?.length) return AttributeType.TENSORS;
  if (a.graphs?.length) return AttributeType.GRAPHS;
  return AttributeType.UNDEFINED;
}

/**
 * A bytes field as decoded: a damaged file can carry another wire type in its place (a varint
 * where bytes belong), which protobufjs hands back as a number.
 */
function bytesOf(value: unknown, ctx: TensorContext): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new UserError(`The ${ctx.what} is malformed: its string value is not a byte string (the file is damaged).`);
}

/** `ctx.what` names the attribute for tensor errors, e.g. "attribute 'value' of node 'c1' in 'm.onnx'". */
export function attributeFromProto(a: AttributeProto, ctx: TensorContext): AttrValue {
  if (a.ref_attr_name) return { kind: 'other', type: 'ref' };
  const type = attributeType(a);
  switch (type) {
    case AttributeType.FLOAT:
      return { kind: 'float', value: a.f ?? 0 };
    case AttributeType.INT:
      return { kind: 'int', value: int64ToNumber(a.i) };
    case AttributeType.STRING:
      return { kind: 'string', value: a.s ? utf8.decode(bytesOf(a.s, ctx)) : '' };
    case AttributeType.TENSOR:
      if (!a.t) return { kind: 'other', type: 'tensor' };
      return { kind: 'tensor', value: decodeTensor(a.t, ctx) };
    case AttributeType.GRAPH:
      return { kind: 'graph' };
    case AttributeType.FLOATS:
      return { kind: 'floats', value: [...(a.floats ?? [])] };
    case AttributeType.INTS:
      return { kind: 'ints', value: (a.ints ?? []).map((v) => int64ToNumber(v)) };
    case AttributeType.STRINGS:
      return { kind: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(bytesOf(s, ctx))) };
    default:
      return { kind: 'other', type: typeNames.get(type) ?? `type ${type}` };
  }
}

/**
 * An AttributeProto for a core value. Graph and 'other' values cannot be rebuilt from the view; an
 * edit keeps the existing proto for those (see edit.ts), so reaching here with one is a bug.
 */
export function attributeToProto(name: string, v: AttrValue): AttributeProto {
  switch (v.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: v.value };
    case 'int':
      return { name, type: AttributeType.INT, i: numberToInt64(v.value) };
    case 'string':
      return { name, type: AttributeType.STRING, s: utf8Encoder.encode(v.value) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: encodeTensor(v.value, '') };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...v.value] };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: v.value.map(numberToInt64) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: v.value.map((s) => utf8Encoder.encode(s)) };
    case 'graph':
    case 'other':
      throw new InternalError(`attribute '${name}' of kind '${v.kind}' cannot be built from the graph view; keep the node's own attribute`);
  }
}
