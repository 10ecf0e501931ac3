import { UserError } from '../core/errors.js';
import type { AttrValue, ValueInfo } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { closestNames, displayName } from '../core/closest.js';
import { attributeToProto } from './attributes.js';
import { initializerValueInfo, nodeSpecToProto, type NodeSpec } from './create.js';
import { normalizeDomain } from './graph-view.js';
import { int64ToSafeNumber } from './int64.js';
import { graphOf } from './model.js';
import { ModelHandle, handleOf, type OnnxModel } from './model-handle.js';
import { nameNodes, orderNodes } from './node-order.js';
import type { AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, ValueInfoProto } from './proto-types.js';
import { encodeTensor } from './tensor-proto.js';
import { valueInfoToProto } from './value-info.js';

/**
 * One edit of a model. The steps apply in this order: removeNodes, setNodeInputs, setNodeOutputs,
 * setNodeAttributes, addNodes, removeInitializers, setInitializers, addInputs, setOutputs,
 * addOutputs, opsetImports. Node names are the view's names (unnamed nodes already have `<OpType>_<n>`).
 */
export interface ModelEdit {
  /** By node name, replace that node's input list. */
  setNodeInputs?: Readonly<Record<string, readonly string[]>>;
  /** By node name, replace that node's output list (applied right after setNodeInputs). */
  setNodeOutputs?: Readonly<Record<string, readonly string[]>>;
  addNodes?: readonly NodeSpec[];
  removeNodes?: readonly string[];
  /** Add or replace. */
  setInitializers?: readonly { name: string; tensor: Tensor }[];
  removeInitializers?: readonly string[];
  /** Idempotent; dtype/shape from the graph's value info when known. */
  addOutputs?: readonly string[];
  /** Replace the output list. */
  setOutputs?: readonly string[];
  /** New graph inputs (appended after the existing ones; a name already defined is an error). */
  addInputs?: readonly ValueInfo[];
  /** Add a domain or set a version. */
  opsetImports?: Readonly<Record<string, number>>;
  /**
   * By node name, attributes to set (others are kept). A 'graph' or 'other' value (which the view
   * cannot rebuild) keeps the node's existing attribute of that name.
   */
  setNodeAttributes?: Readonly<Record<string, Readonly<Record<string, AttrValue>>>>;
}

function unknownNode(name: string, known: Iterable<string>, source: string | undefined): UserError {
  const close = closestNames(name, known);
  const hint = close.length > 0 ? ` (closest: ${close.map((c) => `'${displayName(c)}'`).join(', ')})` : '';
  return new UserError(`There is no node '${displayName(name)}'${source ? ` in '${displayName(source)}'` : ''}${hint}.`);
}

function setAttributes(node: NodeProto, attrs: Readonly<Record<string, AttrValue>>): NodeProto {
  const list: AttributeProto[] = [...(node.attribute ?? [])];
  for (const [name, value] of Object.entries(attrs)) {
    const at = list.findIndex((a) => a.name === name);
    if ((value.kind === 'graph' || value.kind === 'other') && at >= 0) continue;
    const proto = attributeToProto(name, value);
    if (at >= 0) list[at] = proto;
    else list.push(proto);
  }
  return { ...node, attribute: list };
}

function editNodes(graph: GraphProto, edit: ModelEdit, source: string | undefined): NodeProto[] {
  let nodes = [...(graph.node ?? [])];
  const names = (): string[] => nodes.map((n) => n.name ?? '');
  const indexOf = (name: string): number => {
    const i = nodes.findIndex((n) => n.name === name);
    if (i < 0) throw unknownNode(name, names(), source);
    return i;
  };
  if (edit.removeNodes?.length) {
    const drop = new Set(edit.removeNodes.map(indexOf));
    nodes = nodes.filter((_, i) => !drop.has(i));
  }
  for (const [name, inputs] of Object.entries(edit.setNodeInputs ?? {})) {
    const i = indexOf(name);
    nodes[i] = { ...nodes[i], input: [...inputs] };
  }
  for (const [name, outputs] of Object.entries(edit.setNodeOutputs ?? {})) {
    const i = indexOf(name);
    nodes[i] = { ...nodes[i], output: [...outputs] };
  }
  for (const [name, attrs] of Object.entries(edit.setNodeAttributes ?? {})) {
    const i = indexOf(name);
    nodes[i] = setAttributes(nodes[i], attrs);
  }
  const existing = new Set(names());
  for (const spec of edit.addNodes ?? []) {
    if (spec.name !== '' && existing.has(spec.name)) {
      throw new UserError(
        `Cannot add node '${displayName(spec.name)}': a node of that name already exists${source ? ` in '${displayName(source)}'` : ''}.`,
      );
    }
    existing.add(spec.name);
    nodes.push(nodeSpecToProto(spec));
  }
  return orderNodes(nameNodes(nodes));
}

interface Parts {
  initializer: TensorProto[];
  sparse: NonNullable<GraphProto['sparse_initializer']>[number][];
  input: ValueInfoProto[];
}

function editInitializers(graph: GraphProto, edit: ModelEdit, oldIr: boolean, source: string | undefined): Parts {
  const parts: Parts = {
    initializer: [...(graph.initializer ?? [])],
    sparse: [...(graph.sparse_initializer ?? [])],
    input: [...(graph.input ?? [])],
  };
  const dropName = (name: string): boolean => {
    const before = parts.initializer.length + parts.sparse.length;
    parts.initializer = parts.initializer.filter((t) => t.name !== name);
    parts.sparse = parts.sparse.filter((s) => s.values?.name !== name);
    return parts.initializer.length + parts.sparse.length < before;
  };
  for (const name of edit.removeInitializers ?? []) {
    if (!dropName(name)) {
      const known = [...parts.initializer.map((t) => t.name ?? ''), ...parts.sparse.map((s) => s.values?.name ?? '')];
      const close = closestNames(name, known);
      const hint = close.length > 0 ? ` (closest: ${close.map((c) => `'${displayName(c)}'`).join(', ')})` : '';
      throw new UserError(
        `There is no initializer '${displayName(name)}' to remove${source ? ` in '${displayName(source)}'` : ''}${hint}.`,
      );
    }
    // Old IR lists initializers as inputs; a removed weight must not linger as a graph input.
    if (oldIr) parts.input = parts.input.filter((v) => v.name !== name);
  }
  for (const { name, tensor } of edit.setInitializers ?? []) {
    const proto = encodeTensor(tensor, name);
    const at = parts.initializer.findIndex((t) => t.name === name);
    if (at >= 0) parts.initializer[at] = proto;
    else {
      parts.sparse = parts.sparse.filter((s) => s.values?.name !== name);
      parts.initializer.push(proto);
    }
    const inputAt = parts.input.findIndex((v) => v.name === name);
    if (inputAt >= 0) parts.input[inputAt] = initializerValueInfo(name, tensor);
    else if (oldIr) parts.input.push(initializerValueInfo(name, tensor));
  }
  return parts;
}

function editOutputs(handle: ModelHandle, graph: GraphProto, edit: ModelEdit): ValueInfoProto[] {
  const view = graphOf(handle);
  const current = [...(graph.output ?? [])];
  const infoFor = (name: string): ValueInfoProto => {
    const existing = current.find((o) => o.name === name) ?? (graph.value_info ?? []).find((v) => v.name === name && v.type);
    if (existing) return existing;
    return valueInfoToProto(view.values.get(name) ?? { name });
  };
  let outputs = edit.setOutputs ? edit.setOutputs.map(infoFor) : current;
  for (const name of edit.addOutputs ?? []) {
    if (!outputs.some((o) => o.name === name)) outputs = [...outputs, infoFor(name)];
  }
  return outputs;
}

function editOpsets(opsets: readonly OperatorSetIdProto[], edit: ModelEdit): OperatorSetIdProto[] {
  const out = [...opsets];
  for (const [domain, version] of Object.entries(edit.opsetImports ?? {})) {
    const at = out.findIndex((o) => normalizeDomain(o.domain) === normalizeDomain(domain));
    if (at >= 0) out[at] = { ...out[at], version };
    else out.push({ domain, version });
  }
  return out;
}

/** Every graph output must be something the edited graph defines. */
function checkOutputs(graph: GraphProto, source: string | undefined): void {
  const defined = new Set<string>();
  for (const v of graph.input ?? []) defined.add(v.name ?? '');
  for (const t of graph.initializer ?? []) defined.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) defined.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) defined.add(o);
  for (const o of graph.output ?? []) {
    if (!defined.has(o.name ?? '')) {
      throw new UserError(
        `Graph output '${displayName(o.name ?? '')}' is not produced by any node, input or initializer${source ? ` of '${displayName(source)}'` : ''}.`,
      );
    }
  }
}

/**
 * A new model with the edit applied; the input model is never mutated (unchanged messages are
 * shared). Nodes are written in topological order and the result is checked by building its graph
 * view, so a node reading an unknown tensor, a cycle, or an output nobody produces is a UserError.
 */
export function editModel(model: OnnxModel, edit: ModelEdit): OnnxModel {
  const handle = handleOf(model);
  const proto = handle.proto;
  const graph = proto.graph ?? {};
  const oldIr = int64ToSafeNumber(proto.ir_version, 'The IR version') < 4;
  const inits = editInitializers(graph, edit, oldIr, handle.source);
  for (const v of edit.addInputs ?? []) {
    if (inits.input.some((i) => i.name === v.name)) {
      throw new UserError(
        `Cannot add input '${displayName(v.name)}': the graph already has an input of that name${handle.source ? ` in '${displayName(handle.source)}'` : ''}.`,
      );
    }
    inits.input.push(valueInfoToProto(v));
  }
  const newGraph: GraphProto = {
    ...graph,
    node: editNodes(graph, edit, handle.source),
    initializer: inits.initializer,
    sparse_initializer: inits.sparse,
    input: inits.input,
    output: editOutputs(handle, graph, edit),
  };
  checkOutputs(newGraph, handle.source);
  const newProto: ModelProto = { ...proto, graph: newGraph, opset_import: editOpsets(proto.opset_import ?? [], edit) };
  const result = new ModelHandle(newProto, handle.baseDir, handle.source, undefined);
  graphOf(result);
  return result;
}
