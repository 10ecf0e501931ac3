import { editModel } from './edit.js';
import { graphOf } from './model.js';
import type { OnnxModel } from './model-handle.js';

/**
 * The model cut down to what `tensors` need: the nodes that produce them and everything upstream,
 * with exactly `tensors` as the graph outputs (the graph inputs stay as they are). Each node kept
 * has the same inputs as in the whole model. The float references of bisect's and fix's probes
 * are computed on it (backends/float.ts fetch), byte for byte those of the whole float model
 * (test/backends-prefix.test.ts). Not for QDQ models: onnxruntime optimizes a cut QDQ graph
 * differently (the opset-21 fixture's QDQ model cut at its MaxPool output fails to load: the
 * optimizer adds a QuantizeLinear whose output type does not match its zero point's).
 *
 * Null when the model cannot be cut safely: a tensor no node produces (a graph input or an
 * initializer), or a node with a subgraph, which may read outer values its input list does not show.
 */
export function prefixModel(model: OnnxModel, tensors: readonly string[]): OnnxModel | null {
  const graph = graphOf(model);
  if (graph.nodes.some((n) => [...n.attributes.values()].some((a) => a.kind === 'graph'))) return null;
  const needed = new Set<string>();
  const stack = [...new Set(tensors)];
  for (const t of stack) if (!graph.producer.has(t)) return null;
  const seen = new Set(stack);
  while (stack.length > 0) {
    const node = graph.producer.get(stack.pop() as string);
    if (!node || needed.has(node.name)) continue;
    needed.add(node.name);
    for (const input of node.inputs) {
      if (input === '' || seen.has(input)) continue;
      seen.add(input);
      stack.push(input);
    }
  }
  return editModel(model, {
    removeNodes: graph.nodes.filter((n) => !needed.has(n.name)).map((n) => n.name),
    setOutputs: [...new Set(tensors)],
  });
}
