import type {
  AttributeProto,
  FunctionProto,
  GraphProto,
  ModelProto,
  NodeProto,
  SparseTensorProto,
  TensorProto,
  TrainingInfoProto,
} from './proto-types.js';

/**
 * Rebuilds a model with `fn` applied to every TensorProto it holds: initializers, sparse
 * initializers, tensor attributes of every node in every (sub)graph, function bodies and training
 * graphs. Objects whose contents did not change are returned as they are, so a model without
 * changes comes back identical (===) and nothing is copied.
 */
export type TensorFn = (tensor: TensorProto) => TensorProto;

function mapList<T>(list: readonly T[] | undefined, f: (x: T) => T): readonly T[] | undefined {
  if (!list || list.length === 0) return list;
  let changed = false;
  const out = list.map((x) => {
    const y = f(x);
    if (y !== x) changed = true;
    return y;
  });
  return changed ? out : list;
}

function mapSparse(s: SparseTensorProto, fn: TensorFn): SparseTensorProto {
  const values = s.values ? fn(s.values) : s.values;
  const indices = s.indices ? fn(s.indices) : s.indices;
  if (values === s.values && indices === s.indices) return s;
  return { ...s, values, indices };
}

function mapAttribute(a: AttributeProto, fn: TensorFn): AttributeProto {
  const t = a.t ? fn(a.t) : a.t;
  const g = a.g ? mapGraph(a.g, fn) : a.g;
  const sparse = a.sparse_tensor ? mapSparse(a.sparse_tensor, fn) : a.sparse_tensor;
  const tensors = mapList(a.tensors, fn);
  const graphs = mapList(a.graphs, (x) => mapGraph(x, fn));
  const sparses = mapList(a.sparse_tensors, (x) => mapSparse(x, fn));
  if (t === a.t && g === a.g && sparse === a.sparse_tensor && tensors === a.tensors && graphs === a.graphs && sparses === a.sparse_tensors)
    return a;
  return { ...a, t, g, sparse_tensor: sparse, tensors, graphs, sparse_tensors: sparses };
}

function mapNode(n: NodeProto, fn: TensorFn): NodeProto {
  const attribute = mapList(n.attribute, (a) => mapAttribute(a, fn));
  return attribute === n.attribute ? n : { ...n, attribute };
}

export function mapGraph(g: GraphProto, fn: TensorFn): GraphProto {
  const node = mapList(g.node, (n) => mapNode(n, fn));
  const initializer = mapList(g.initializer, fn);
  const sparse = mapList(g.sparse_initializer, (s) => mapSparse(s, fn));
  if (node === g.node && initializer === g.initializer && sparse === g.sparse_initializer) return g;
  return { ...g, node, initializer, sparse_initializer: sparse };
}

function mapFunction(f: FunctionProto, fn: TensorFn): FunctionProto {
  const node = mapList(f.node, (n) => mapNode(n, fn));
  const attributeProto = mapList(f.attribute_proto, (a) => mapAttribute(a, fn));
  if (node === f.node && attributeProto === f.attribute_proto) return f;
  return { ...f, node, attribute_proto: attributeProto };
}

function mapTraining(t: TrainingInfoProto, fn: TensorFn): TrainingInfoProto {
  const initialization = t.initialization ? mapGraph(t.initialization, fn) : t.initialization;
  const algorithm = t.algorithm ? mapGraph(t.algorithm, fn) : t.algorithm;
  if (initialization === t.initialization && algorithm === t.algorithm) return t;
  return { ...t, initialization, algorithm };
}

export function mapModelTensors(m: ModelProto, fn: TensorFn): ModelProto {
  const graph = m.graph ? mapGraph(m.graph, fn) : m.graph;
  const functions = mapList(m.functions, (f) => mapFunction(f, fn));
  const trainingInfo = mapList(m.training_info, (t) => mapTraining(t, fn));
  if (graph === m.graph && functions === m.functions && trainingInfo === m.training_info) return m;
  return { ...m, graph, functions, training_info: trainingInfo };
}
