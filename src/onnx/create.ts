import type { AttrValue, ValueInfo } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { attributeToProto } from './attributes.js';
import { graphOf } from './model.js';
import { ModelHandle, type OnnxModel } from './model-handle.js';
import { nameNodes, orderNodes } from './node-order.js';
import type { GraphProto, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto } from './proto-types.js';
import { encodeTensor } from './tensor-proto.js';
import { valueInfoToProto } from './value-info.js';

/** A node to build. An empty name is replaced by `<OpType>_<n>`; domain '' (default) is the ONNX domain. */
export interface NodeSpec {
  name: string;
  opType: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttrValue>>;
}

/** A whole model to build; see createModel. */
export interface ModelSpec {
  name: string;
  irVersion?: number;
  producer?: string;
  opsets: Readonly<Record<string, number>>;
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  nodes: readonly NodeSpec[];
  initializers: readonly { name: string; tensor: Tensor }[];
  valueInfo?: readonly ValueInfo[];
}

/**
 * The IR version that introduced each default-domain opset (onnx/helper.py's VERSION_TABLE).
 * A built model gets the one its opset needs, but at least 4, so initializers need not be listed
 * as graph inputs.
 */
const IR_FOR_OPSET: readonly (readonly [number, number])[] = [
  [8, 3],
  [9, 4],
  [10, 5],
  [11, 6],
  [14, 7],
  [18, 8],
  [20, 9],
  [22, 10],
  [Infinity, 11],
];

export function defaultIrVersion(opset: number | undefined): number {
  if (opset === undefined) return 8;
  const row = IR_FOR_OPSET.find(([maxOpset]) => opset <= maxOpset);
  return Math.max(4, row ? row[1] : 11);
}

export function nodeSpecToProto(spec: NodeSpec): NodeProto {
  const attrs = Object.entries(spec.attributes ?? {});
  return {
    input: [...spec.inputs],
    output: [...spec.outputs],
    ...(spec.name ? { name: spec.name } : {}),
    op_type: spec.opType,
    ...(spec.domain ? { domain: spec.domain } : {}),
    ...(attrs.length > 0 ? { attribute: attrs.map(([name, value]) => attributeToProto(name, value)) } : {}),
  };
}

export function opsetImportsToProto(opsets: Readonly<Record<string, number>>): OperatorSetIdProto[] {
  return Object.entries(opsets).map(([domain, version]) => ({ domain, version }));
}

/** ValueInfo for an initializer, used where IR < 4 wants initializers listed as graph inputs. */
export function initializerValueInfo(name: string, tensor: Tensor): ValueInfoProto {
  return valueInfoToProto({ name, dtype: tensor.dtype, shape: tensor.dims });
}

/**
 * Builds a model from a spec. Deterministic: the same spec gives byte-identical serializeModel
 * output (no timestamps; fields and lists in spec order). Nodes are named, sorted topologically
 * and checked by building the graph view, so a node reading a missing tensor is reported here.
 * With irVersion < 4 every initializer is also listed as a graph input, as those IR versions require.
 */
export function createModel(spec: ModelSpec): OnnxModel {
  const irVersion = spec.irVersion ?? defaultIrVersion(spec.opsets[''] ?? spec.opsets['ai.onnx']);
  const inputs = spec.inputs.map(valueInfoToProto);
  if (irVersion < 4) {
    const listed = new Set(spec.inputs.map((v) => v.name));
    for (const init of spec.initializers) if (!listed.has(init.name)) inputs.push(initializerValueInfo(init.name, init.tensor));
  }
  const graph: GraphProto = {
    node: orderNodes(nameNodes(spec.nodes.map(nodeSpecToProto))),
    name: spec.name,
    initializer: spec.initializers.map((i) => encodeTensor(i.tensor, i.name)),
    input: inputs,
    output: spec.outputs.map(valueInfoToProto),
    value_info: (spec.valueInfo ?? []).map(valueInfoToProto),
  };
  const proto: ModelProto = {
    ir_version: irVersion,
    opset_import: opsetImportsToProto(spec.opsets),
    producer_name: spec.producer ?? 'quantscope',
    graph,
  };
  const model = new ModelHandle(proto, undefined, undefined, undefined);
  graphOf(model);
  return model;
}
