import type { GraphProto, NodeProto } from './proto-types.js';

/**
 * Node naming and ordering on the proto, before the core view is built.
 *
 * Naming: every node gets a unique name. An unnamed node, or a later node repeating an earlier
 * node's name, becomes `<OpType>_<n>` with n counting per op type from 0 and skipping every name
 * already in the graph. The names are written into the proto so that emitted models and results
 * agree.
 *
 * Ordering: a node depends on its explicit inputs and on the outer-scope tensors its subgraphs
 * (If/Loop/Scan bodies) read. Nodes are sorted topologically over both, keeping file order
 * among ready nodes; a file that is already sorted keeps its order exactly.
 */

/** A copy of `nodes` with every node uniquely named; unchanged nodes are shared. */
export function nameNodes(nodes: readonly NodeProto[]): NodeProto[] {
  const taken = new Set<string>();
  for (const n of nodes) if (n.name) taken.add(n.name);
  const seen = new Set<string>();
  const counters = new Map<string, number>();
  return nodes.map((node) => {
    const name = node.name ?? '';
    if (name !== '' && !seen.has(name)) {
      seen.add(name);
      return node;
    }
    const op = node.op_type || 'Node';
    let k = counters.get(op) ?? 0;
    let candidate = `${op}_${k}`;
    while (taken.has(candidate) || seen.has(candidate)) candidate = `${op}_${++k}`;
    counters.set(op, k + 1);
    taken.add(candidate);
    seen.add(candidate);
    return { ...node, name: candidate };
  });
}

/** The subgraphs held by a node's attributes (g and graphs). */
export function subgraphsOf(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

/** Tensor names a graph reads from its enclosing scopes (used but not defined inside it). */
export function outerReferences(graph: GraphProto): Set<string> {
  const defined = new Set<string>(['']);
  for (const v of graph.input ?? []) defined.add(v.name ?? '');
  for (const t of graph.initializer ?? []) defined.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) defined.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const refs = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) if (!defined.has(i)) refs.add(i);
    for (const sub of subgraphsOf(n)) for (const r of outerReferences(sub)) if (!defined.has(r)) refs.add(r);
  }
  return refs;
}

/** Every tensor a node needs before it runs: explicit inputs and its subgraphs' outer references. */
export function nodeDependencies(node: NodeProto): Set<string> {
  const deps = new Set<string>(node.input ?? []);
  for (const sub of subgraphsOf(node)) for (const r of outerReferences(sub)) deps.add(r);
  deps.delete('');
  return deps;
}

/**
 * The nodes in topological order (stable: file order among ready nodes). Dependencies that no node
 * produces are treated as available (graph inputs, initializers, or errors the core view reports).
 * Nodes caught in a cycle keep their file order at the end, where the core view reports them.
 */
export function orderNodes(nodes: readonly NodeProto[]): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o !== '') producer.set(o, i);
  });
  const deps = nodes.map((n) => [...nodeDependencies(n)].filter((t) => producer.has(t)).map((t) => producer.get(t) as number));

  // Fast path: a file that is already sorted (the ONNX rule) stays as it is.
  if (deps.every((ds, i) => ds.every((j) => j < i))) return [...nodes];

  const pending = deps.map((ds) => new Set(ds.filter((j) => j !== -1)));
  const dependents = nodes.map(() => [] as number[]);
  pending.forEach((ds, i) => {
    for (const j of ds) dependents[j].push(i);
  });
  const done = new Array<boolean>(nodes.length).fill(false);
  const ready: number[] = [];
  pending.forEach((ds, i) => {
    if (ds.size === 0) ready.push(i);
  });
  const order: number[] = [];
  while (ready.length > 0) {
    let best = 0;
    for (let k = 1; k < ready.length; k++) if (ready[k] < ready[best]) best = k;
    const i = ready.splice(best, 1)[0];
    done[i] = true;
    order.push(i);
    for (const j of dependents[i]) {
      pending[j].delete(i);
      if (pending[j].size === 0 && !done[j]) ready.push(j);
    }
  }
  nodes.forEach((_, i) => {
    if (!done[i]) order.push(i);
  });
  return order.map((i) => nodes[i]);
}
