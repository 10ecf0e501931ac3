import type { Dim, Graph, ValueInfo } from '../core/graph.js';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import { initializerTensor, modelInfo } from '../onnx/index.js';
import { inferShapes, type InferredValue } from '../analysis/shape-inference.js';
import { loadModel } from './load-model.js';

export interface InspectOptions {
  readonly modelPath: string;
  /** Only nodes of these op types (all when empty). */
  readonly ops?: readonly string[];
}

export interface InspectValue {
  readonly name: string;
  readonly shape: readonly Dim[] | null;
  readonly dtype: string | null;
}

export interface InspectNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly outputShape: readonly Dim[] | null;
}

export interface InspectResult {
  readonly model: string;
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly InspectValue[];
  readonly outputs: readonly InspectValue[];
  readonly initializerCount: number;
  readonly nodeCount: number;
  readonly opCounts: Readonly<Record<string, number>>;
  readonly nodes: readonly InspectNode[];
}

function valueOf(v: ValueInfo): InspectValue {
  return { name: v.name, shape: v.shape ? [...v.shape] : null, dtype: v.dtype ?? null };
}

export function describeGraph(
  graph: Graph,
  ops: readonly string[] = [],
  values: ReadonlyMap<string, InferredValue> = inferShapes(graph),
): Omit<InspectResult, 'model' | 'irVersion' | 'producer' | 'opsets'> {
  const wanted = new Set(ops.map((o) => o.toLowerCase()));
  if (wanted.size > 0) {
    const present = new Set(graph.nodes.map((n) => n.opType.toLowerCase()));
    const missing = [...wanted].filter((o) => !present.has(o));
    if (missing.length === wanted.size) {
      throw new UserError(
        `The model has no node of op type ${[...wanted].map((o) => displayName(o, 40)).join(', ')} (flag --ops); it has ${[...new Set(graph.nodes.map((n) => displayName(n.opType, 40)))].sort().join(', ')}.`,
      );
    }
  }
  const opCounts: Record<string, number> = {};
  for (const n of graph.nodes) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
  const nodes = graph.nodes
    .filter((n) => wanted.size === 0 || wanted.has(n.opType.toLowerCase()))
    .map((n) => ({
      index: n.index,
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      inputs: [...n.inputs],
      outputs: [...n.outputs],
      outputShape: values.get(n.outputs[0])?.shape ? [...(values.get(n.outputs[0])?.shape ?? [])] : null,
    }));
  return {
    inputs: graph.inputs.map(valueOf),
    outputs: graph.outputs.map(valueOf),
    initializerCount: graph.initializers.size,
    nodeCount: graph.nodes.length,
    opCounts,
    nodes,
  };
}

/** Lists a model's real inputs, outputs and nodes in topological order. */
export function inspect(options: InspectOptions): InspectResult {
  const loaded = loadModel(options.modelPath);
  const info = modelInfo(loaded.model);
  return {
    model: options.modelPath,
    irVersion: info.irVersion,
    producer: info.producer,
    opsets: Object.fromEntries(info.opsets),
    ...describeGraph(
      loaded.graph,
      options.ops,
      inferShapes(loaded.graph, undefined, (name) => initializerTensor(loaded.model, name)),
    ),
  };
}
