import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../core/atomic-file.js';
import { UserError, messageOf } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { closestNames, displayName } from '../core/closest.js';
import { externalDataRef, readExternalData } from './external-data.js';
import { buildGraphView, opsetsOf } from './graph-view.js';
import { int64ToSafeNumber } from './int64.js';
import { ModelHandle, handleOf, type OnnxModel } from './model-handle.js';
import { nameNodes } from './node-order.js';
import type { ModelProto, SparseTensorProto, TensorProto } from './proto-types.js';
import { decodeModelProto, encodeModelProto } from './schema.js';
import { densifySparse } from './sparse-tensor.js';
import { mapModelTensors } from './tensor-walk.js';
import { decodeTensor, isExternal, rawByteLength, tensorLabel } from './tensor-proto.js';
import { dtypeFromOnnx } from '../core/dtype.js';
import { has } from './value-info.js';

export type { OnnxModel } from './model-handle.js';

/**
 * Reading, writing and inspecting ONNX models. Reading names every node (node-order.ts); writing
 * inlines external data so the written file stands alone.
 */

function sourcePhrase(source: string | undefined): string {
  return source === undefined ? 'The bytes are' : `File '${displayName(source)}' is`;
}

/** Decodes model bytes. `source` names them in messages; `baseDir` resolves external data. */
export function parseModel(bytes: Uint8Array, options: { baseDir?: string; source?: string } = {}): OnnxModel {
  const { source, baseDir } = options;
  let proto: ModelProto;
  try {
    proto = decodeModelProto(bytes);
  } catch (error) {
    throw new UserError(`${sourcePhrase(source)} not an ONNX model (${messageOf(error)}).`, { cause: error });
  }
  // Arbitrary bytes can decode "successfully" into a few unknown fields; a model has both of these.
  if (!has(proto, 'ir_version') || !proto.graph) {
    const missing = !has(proto, 'ir_version') ? 'no ir_version' : 'no graph';
    throw new UserError(`${sourcePhrase(source)} not an ONNX model (${missing}).`);
  }
  int64ToSafeNumber(proto.ir_version, `The IR version of ${source ? `'${displayName(source)}'` : 'the model'}`);
  const nodes = proto.graph.node ?? [];
  const named = nameNodes(nodes);
  const assigned = new Set(named.filter((n, i) => n !== nodes[i]).map((n) => n.name ?? ''));
  const finalProto = assigned.size > 0 ? { ...proto, graph: { ...proto.graph, node: named } } : proto;
  return new ModelHandle(finalProto, baseDir, source, bytes, assigned);
}

/** Inlines every external tensor's bytes into raw_data (see external-data.ts for the safety rules). */
function inlineExternalData(handle: ModelHandle): ModelProto {
  return mapModelTensors(handle.proto, (t: TensorProto) => {
    if (!isExternal(t)) return t;
    const what = tensorLabel(t.name, handle.source);
    const dtype = dtypeFromOnnx(t.data_type ?? 0);
    let expected: number | undefined;
    if (dtype !== undefined && dtype !== 'string') {
      let count = 1;
      for (const d of t.dims ?? []) count *= int64ToSafeNumber(d, `A dimension of tensor ${what}`);
      expected = rawByteLength(dtype, count);
    }
    const raw = readExternalData(externalDataRef(t.external_data ?? [], what), handle.baseDir, what, expected);
    const { external_data: _external, data_location: _location, ...rest } = t;
    return { ...rest, raw_data: raw };
  });
}

/** The model as ONNX bytes, external data inlined into raw_data. */
export function serializeModel(model: OnnxModel): Uint8Array {
  const handle = handleOf(model);
  return encodeModelProto(inlineExternalData(handle));
}

/** Writes the model atomically (core/atomic-file.ts: a flushed temporary file beside `file`, then a rename). */
export function writeModel(model: OnnxModel, file: string): void {
  const bytes = serializeModel(model);
  try {
    writeFileAtomic(file, bytes);
  } catch (error) {
    throw new UserError(`Cannot write model '${displayName(file)}' (${messageOf(error)}).`, { cause: error });
  }
}

/**
 * The node names the model file itself does not hold: quantscope named those nodes when reading
 * (`<OpType>_<n>` for an unnamed node or a repeated name). Tools that match nodes by name in the
 * file (onnxruntime's quantizer, TensorRT's parser) cannot find these. Empty for built models.
 */
export function assignedNodeNames(model: OnnxModel): ReadonlySet<string> {
  return handleOf(model).assignedNames;
}

/** The core graph view of the main graph, built once per model. */
export function graphOf(model: OnnxModel): Graph {
  const handle = handleOf(model);
  handle.graphCache ??= buildGraphView(handle.proto, handle.baseDir, handle.source);
  return handle.graphCache;
}

export function modelInfo(model: OnnxModel): { irVersion: number; producer: string; opsets: ReadonlyMap<string, number>; source?: string } {
  const handle = handleOf(model);
  const p = handle.proto;
  const producer = [p.producer_name ?? '', p.producer_version ?? ''].filter((s) => s !== '').join(' ');
  return {
    irVersion: int64ToSafeNumber(p.ir_version, 'The IR version'),
    producer,
    opsets: opsetsOf(p.opset_import, handle.source),
    ...(handle.source === undefined ? {} : { source: handle.source }),
  };
}

/**
 * An initializer's values (dense or sparse, inline or external). Unknown names are a UserError that
 * suggests the closest initializer names.
 */
export function initializerTensor(model: OnnxModel, name: string): Tensor {
  const handle = handleOf(model);
  const what = tensorLabel(name, handle.source);
  const index = initializerIndex(handle);
  const entry = index.get(name);
  if (entry?.dense) return decodeTensor(entry.dense, { baseDir: handle.baseDir, what });
  if (entry?.sparse) return densifySparse(entry.sparse, { baseDir: handle.baseDir, what });
  const close = closestNames(name, index.keys());
  const hint = close.length > 0 ? ` (closest: ${close.map((c) => `'${displayName(c)}'`).join(', ')})` : '';
  const where = handle.source ? ` in '${displayName(handle.source)}'` : '';
  throw new UserError(`There is no initializer '${displayName(name)}'${where}${hint}.`);
}

/** Initializers by name (a repeated name, which ONNX forbids, resolves to the last, as in the graph view). */
function initializerIndex(handle: ModelHandle): Map<string, { dense?: TensorProto; sparse?: SparseTensorProto }> {
  if (handle.initializerIndex) return handle.initializerIndex;
  const graph = handle.proto.graph ?? {};
  const index = new Map<string, { dense?: TensorProto; sparse?: SparseTensorProto }>();
  for (const t of graph.initializer ?? []) index.set(t.name ?? '', { dense: t });
  for (const s of graph.sparse_initializer ?? []) index.set(s.values?.name ?? '', { sparse: s });
  handle.initializerIndex = index;
  return index;
}

/** sha256 (hex) of the original file bytes; of serializeModel's bytes for a built or edited model. */
export function modelSha256(model: OnnxModel): string {
  const handle = handleOf(model);
  handle.shaCache ??= createHash('sha256')
    .update(handle.originalBytes ?? serializeModel(handle))
    .digest('hex');
  return handle.shaCache;
}

/** What kind of value a graph input, output or value_info entry declares. */
export type ValueKind = 'tensor' | 'sparse_tensor' | 'sequence' | 'map' | 'optional' | 'opaque' | 'unknown';

/**
 * The declared kind of a main-graph value: the core view shows dtype and shape for tensors only,
 * so this tells a sequence or optional input (whose test data is a SequenceProto or OptionalProto,
 * not a TensorProto) from a tensor of unknown type. 'unknown' when the graph does not declare it.
 */
export function valueKind(model: OnnxModel, name: string): ValueKind {
  const graph = handleOf(model).proto.graph ?? {};
  const info = [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.value_info ?? [])].find((v) => v.name === name);
  const type = info?.type;
  if (!type) return 'unknown';
  if (type.tensor_type) return 'tensor';
  if (type.sparse_tensor_type) return 'sparse_tensor';
  if (type.sequence_type) return 'sequence';
  if (type.map_type) return 'map';
  if (type.optional_type) return 'optional';
  if (type.opaque_type) return 'opaque';
  return 'unknown';
}
