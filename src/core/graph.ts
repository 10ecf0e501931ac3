import type { DType } from './dtype.js';
import type { Tensor } from './tensor.js';
import { displayName } from './closest.js';
import { UserError } from './errors.js';

/** A node attribute, translated from ONNX's AttributeProto. Subgraphs stay inside onnx/. */
export type AttrValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: Tensor }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'graph' }
  | { readonly kind: 'other'; readonly type: string };

/** A dimension: a number, a symbolic name, or null when unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  readonly name: string;
  readonly dtype?: DType;
  readonly shape?: readonly Dim[];
}

export interface GraphNode {
  /** Position in topological order. */
  readonly index: number;
  /** Unique; unnamed ONNX nodes get `<OpType>_<n>` when the model is read. */
  readonly name: string;
  readonly opType: string;
  /** '' for the default ONNX domain. */
  readonly domain: string;
  /** Input tensor names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, AttrValue>;
}

export interface InitializerInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
}

/** A read-only view of a model's main graph, nodes in topological order. */
export interface Graph {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  /** Real inputs: graph inputs that are not initializers. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: ReadonlyMap<string, InitializerInfo>;
  /** Every value whose type is known: inputs, outputs, value_info entries and initializers. */
  readonly values: ReadonlyMap<string, ValueInfo>;
  readonly producer: ReadonlyMap<string, GraphNode>;
  readonly consumers: ReadonlyMap<string, readonly GraphNode[]>;
  /** Opset version per domain ('' is the default domain). */
  readonly opsets: ReadonlyMap<string, number>;
}

export interface GraphParts {
  readonly name: string;
  readonly nodes: readonly Omit<GraphNode, 'index'>[];
  /** Every graph input as listed, including initializers that old IR versions list as inputs. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly InitializerInfo[];
  readonly valueInfo: readonly ValueInfo[];
  readonly opsets: ReadonlyMap<string, number>;
}

/**
 * Builds the graph view: separates real inputs from initializers and sorts the nodes
 * topologically (Kahn's algorithm, keeping file order among ready nodes so the order is stable).
 */
export function buildGraph(parts: GraphParts): Graph {
  const initializers = new Map(parts.initializers.map((i) => [i.name, i]));
  const inputs = parts.inputs.filter((i) => !initializers.has(i.name));
  const available = new Set<string>(['', ...inputs.map((i) => i.name), ...initializers.keys()]);

  const producedBy = new Map<string, number>();
  parts.nodes.forEach((node, i) => {
    for (const out of node.outputs) if (out !== '') producedBy.set(out, i);
  });

  const pending = parts.nodes.map((node) => new Set(node.inputs.filter((t) => !available.has(t))));
  const waiting = new Map<string, number[]>();
  parts.nodes.forEach((node, i) => {
    for (const t of pending[i]) {
      if (!producedBy.has(t)) {
        throw new UserError(
          `Node '${displayName(node.name)}' (${displayName(node.opType, 60)}) reads tensor '${displayName(t)}', which no node produces and which is not a graph input or initializer.`,
        );
      }
      const list = waiting.get(t) ?? [];
      list.push(i);
      waiting.set(t, list);
    }
  });

  // A min-heap on file position keeps the order stable; a simple sorted insertion is enough for
  // graphs of thousands of nodes because the ready set stays small.
  const ready: number[] = [];
  parts.nodes.forEach((_, i) => {
    if (pending[i].size === 0) ready.push(i);
  });
  const order: number[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let k = 1; k < ready.length; k++) if (ready[k] < ready[best]) best = k;
    const i = ready.splice(best, 1)[0];
    order.push(i);
    for (const out of parts.nodes[i].outputs) {
      for (const j of waiting.get(out) ?? []) {
        pending[j].delete(out);
        if (pending[j].size === 0) ready.push(j);
      }
      waiting.delete(out);
    }
  }
  if (order.length !== parts.nodes.length) {
    const placed = new Set(order);
    const stuck = parts.nodes.find((_, i) => !placed.has(i));
    throw new UserError(`The graph has a cycle through node '${displayName(stuck?.name ?? '?')}'.`);
  }

  const nodes: GraphNode[] = order.map((i, index) => Object.freeze({ ...parts.nodes[i], index }));
  const producer = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const node of nodes) {
    for (const out of node.outputs) if (out !== '') producer.set(out, node);
    for (const inp of new Set(node.inputs)) {
      if (inp === '') continue;
      const list = consumers.get(inp) ?? [];
      list.push(node);
      consumers.set(inp, list);
    }
  }
  const values = new Map<string, ValueInfo>();
  for (const init of parts.initializers) values.set(init.name, { name: init.name, dtype: init.dtype, shape: init.dims });
  for (const v of [...parts.valueInfo, ...inputs, ...parts.outputs]) {
    const known = values.get(v.name);
    values.set(v.name, { name: v.name, dtype: v.dtype ?? known?.dtype, shape: v.shape ?? known?.shape });
  }
  return Object.freeze({
    name: parts.name,
    nodes,
    inputs,
    outputs: parts.outputs,
    initializers,
    values,
    producer,
    consumers,
    opsets: parts.opsets,
  });
}

/** The tensors a node reads that are activations (not initializers, not omitted). */
export function activationInputs(graph: Graph, node: GraphNode): string[] {
  return node.inputs.filter((t) => t !== '' && !graph.initializers.has(t));
}

/** Every node the given tensor depends on, in topological order. */
export function ancestors(graph: Graph, tensor: string): GraphNode[] {
  const seen = new Set<number>();
  const stack = [tensor];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    const node = graph.producer.get(t);
    if (!node || seen.has(node.index)) continue;
    seen.add(node.index);
    for (const inp of node.inputs) if (inp !== '') stack.push(inp);
  }
  return graph.nodes.filter((n) => seen.has(n.index));
}

/** Attribute accessors that fall back to the operator's documented default. */
export function intAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a && a.kind === 'int' ? a.value : fallback;
}
export function floatAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return a && a.kind === 'float' ? a.value : fallback;
}
export function stringAttr(node: GraphNode, name: string, fallback: string): string {
  const a = node.attributes.get(name);
  return a && a.kind === 'string' ? a.value : fallback;
}
export function intsAttr(node: GraphNode, name: string): readonly number[] | undefined {
  const a = node.attributes.get(name);
  return a && a.kind === 'ints' ? a.value : undefined;
}
