import { handleOf, ModelHandle, type OnnxModel } from './model-handle.js';
import type {
  AttributeProto,
  GraphProto,
  NodeProto,
  SparseTensorProto,
  TensorAnnotationProto,
  TensorProto,
  ValueInfoProto,
} from './proto-types.js';

/**
 * Tensor names across a model's main graph and every subgraph nested in its nodes' attributes (If,
 * Loop, Scan bodies), and a consistent renaming of them. Function bodies and training graphs keep
 * their own names: they are scopes of their own, which a renaming of the main graph does not reach.
 */

function forEachGraph(graph: GraphProto, visit: (g: GraphProto) => void): void {
  visit(graph);
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.g) forEachGraph(a.g, visit);
      for (const g of a.graphs ?? []) forEachGraph(g, visit);
    }
  }
}

/**
 * Every tensor name the main graph and its subgraphs use: inputs, outputs, value infos,
 * initializers (dense and sparse) and node inputs and outputs. The empty name (an omitted optional
 * input or output) is left out.
 */
export function tensorNames(model: OnnxModel): Set<string> {
  const names = new Set<string>();
  const add = (name: string | undefined): void => {
    if (name) names.add(name);
  };
  const graph = handleOf(model).proto.graph;
  if (!graph) return names;
  forEachGraph(graph, (g) => {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) add(v.name);
    for (const t of g.initializer ?? []) add(t.name);
    for (const s of g.sparse_initializer ?? []) {
      add(s.values?.name);
      add(s.indices?.name);
    }
    for (const n of g.node ?? []) {
      for (const t of n.input ?? []) add(t);
      for (const t of n.output ?? []) add(t);
    }
  });
  return names;
}

type Rename = (name: string) => string;

function renameList(list: readonly string[] | undefined, rename: Rename): readonly string[] | undefined {
  if (!list) return list;
  const out = list.map(rename);
  return out.some((n, i) => n !== list[i]) ? out : list;
}

function renameEach<T>(list: readonly T[] | undefined, f: (x: T) => T): readonly T[] | undefined {
  if (!list) return list;
  const out = list.map(f);
  return out.some((x, i) => x !== list[i]) ? out : list;
}

function renameNamed<T extends { readonly name?: string }>(x: T, rename: Rename): T {
  if (x.name === undefined) return x;
  const name = rename(x.name);
  return name === x.name ? x : { ...x, name };
}

function renameSparse(s: SparseTensorProto, rename: Rename): SparseTensorProto {
  const values = s.values ? renameNamed<TensorProto>(s.values, rename) : s.values;
  const indices = s.indices ? renameNamed<TensorProto>(s.indices, rename) : s.indices;
  return values === s.values && indices === s.indices ? s : { ...s, values, indices };
}

function renameAnnotation(a: TensorAnnotationProto, rename: Rename): TensorAnnotationProto {
  if (a.tensor_name === undefined) return a;
  const tensorName = rename(a.tensor_name);
  return tensorName === a.tensor_name ? a : { ...a, tensor_name: tensorName };
}

function renameAttribute(a: AttributeProto, rename: Rename): AttributeProto {
  const g = a.g ? renameGraph(a.g, rename) : a.g;
  const graphs = renameEach(a.graphs, (x) => renameGraph(x, rename));
  return g === a.g && graphs === a.graphs ? a : { ...a, g, graphs };
}

function renameNode(n: NodeProto, rename: Rename): NodeProto {
  const input = renameList(n.input, rename);
  const output = renameList(n.output, rename);
  const attribute = renameEach(n.attribute, (a) => renameAttribute(a, rename));
  return input === n.input && output === n.output && attribute === n.attribute ? n : { ...n, input, output, attribute };
}

function renameGraph(g: GraphProto, rename: Rename): GraphProto {
  const parts = {
    node: renameEach(g.node, (n) => renameNode(n, rename)),
    input: renameEach<ValueInfoProto>(g.input, (v) => renameNamed(v, rename)),
    output: renameEach<ValueInfoProto>(g.output, (v) => renameNamed(v, rename)),
    value_info: renameEach<ValueInfoProto>(g.value_info, (v) => renameNamed(v, rename)),
    initializer: renameEach<TensorProto>(g.initializer, (t) => renameNamed(t, rename)),
    sparse_initializer: renameEach(g.sparse_initializer, (s) => renameSparse(s, rename)),
    quantization_annotation: renameEach(g.quantization_annotation, (a) => renameAnnotation(a, rename)),
  };
  const changed = (Object.keys(parts) as (keyof typeof parts)[]).some((k) => parts[k] !== g[k]);
  return changed ? { ...g, ...parts } : g;
}

/**
 * The model with every tensor named in `renames` renamed, wherever the main graph or a subgraph
 * uses it. The caller keeps the new names distinct from each other and from every other name
 * (tensorNames), so the graph computes exactly what it did. Nothing is copied when no name
 * changes; otherwise only the messages along changed paths are.
 */
export function renameTensors(model: OnnxModel, renames: ReadonlyMap<string, string>): OnnxModel {
  const handle = handleOf(model);
  const graph = handle.proto.graph;
  if (renames.size === 0 || !graph) return model;
  const renamed = renameGraph(graph, (name) => renames.get(name) ?? name);
  if (renamed === graph) return model;
  return new ModelHandle({ ...handle.proto, graph: renamed }, handle.baseDir, handle.source, undefined);
}
