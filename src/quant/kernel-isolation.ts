import type { GraphNode, ValueInfo } from '../core/graph.js';
import { editModel, graphOf, type OnnxModel } from '../onnx/index.js';
import { NameAllocator } from './qdq-names.js';

/** A QDQ model cut into its kernels, for the emulation self-check. */
export interface IsolatedKernels {
  /** The model: outputs are the wanted tensors, computed from given values of the taps they read. */
  readonly model: OnnxModel;
  /** The taps whose values must be given, each with the graph input that takes it. */
  readonly given: ReadonlyMap<string, string>;
}

/**
 * Cuts a tapped QDQ model apart at its taps: every node that reads a tapped tensor reads a new
 * graph input `<tap>__given` instead, so each wanted tensor is computed by its own kernel (the
 * nodes between the taps it depends on and its storage) from given values of those taps. Nodes no
 * wanted tensor needs are removed. Run with optimizations disabled and fed the optimized model's
 * tap values, it gives the literal QDQ semantics of each kernel on the optimized model's inputs,
 * so a difference between the two is the kernel's own, not one carried from upstream.
 *
 * `info` gives a tap's dtype and shape for its input; graph inputs of the model stay inputs.
 */
export function isolateKernels(
  qdq: OnnxModel,
  taps: ReadonlySet<string>,
  wanted: readonly string[],
  info: (tensor: string) => ValueInfo,
): IsolatedKernels {
  const graph = graphOf(qdq);
  const names = new NameAllocator(graph);
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const givenName = new Map<string, string>();
  const given = (t: string): string => {
    let name = givenName.get(t);
    if (!name) {
      name = names.fresh(`${t}__given`);
      givenName.set(t, name);
    }
    return name;
  };
  const cut = (t: string): boolean => taps.has(t) && !inputs.has(t) && graph.producer.has(t);

  // The nodes the wanted tensors need, walking up until a tap cuts the walk.
  const keep = new Set<string>();
  const used = new Set<string>();
  const stack = wanted.filter((t) => graph.producer.has(t));
  const seen = new Set<string>();
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (seen.has(t)) continue;
    seen.add(t);
    const node = graph.producer.get(t) as GraphNode;
    if (keep.has(node.name)) continue;
    keep.add(node.name);
    for (const x of node.inputs) {
      if (x === '') continue;
      if (cut(x)) used.add(x);
      else if (graph.producer.has(x)) stack.push(x);
    }
  }
  const setNodeInputs: Record<string, string[]> = {};
  for (const node of graph.nodes) {
    if (!keep.has(node.name) || !node.inputs.some(cut)) continue;
    setNodeInputs[node.name] = node.inputs.map((x) => (x !== '' && cut(x) ? given(x) : x));
  }
  const model = editModel(qdq, {
    removeNodes: graph.nodes.filter((n) => !keep.has(n.name)).map((n) => n.name),
    setNodeInputs,
    addInputs: [...used].map((t) => ({ ...info(t), name: given(t) })),
    setOutputs: [...wanted],
  });
  return { model, given: new Map([...used].map((t) => [t, given(t)])) };
}
