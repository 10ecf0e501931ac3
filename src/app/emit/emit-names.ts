import { displayName } from '../../core/closest.js';
import type { Graph } from '../../core/graph.js';
import { UserError } from '../../core/errors.js';
import { runtimeNameProblem } from '../../backends/runtime-names.js';

/**
 * An emitted model keeps the source model's tensor names (the precision check and every later tool
 * rely on them), so quantscope's internal aliases (backends/runtime-names.ts) do not reach the file.
 * A name onnxruntime cannot take is harmless inside the graph, where the model still loads and runs
 * (emit's verification proves it), but an input or output holding one could never be fed or
 * fetched: emitting such a model is refused before anything is built or searched, naming the tensor.
 */
export function refuseUnrunnableNames(graph: Graph, modelFile: string): void {
  const ends: [string, string][] = [
    ...graph.inputs.map((v): [string, string] => ['input', v.name]),
    ...graph.outputs.map((v): [string, string] => ['output', v.name]),
  ];
  for (const [what, name] of ends) {
    const problem = runtimeNameProblem(name);
    if (problem === undefined) continue;
    throw new UserError(
      `The ${what} '${displayName(name)}' of '${displayName(modelFile)}' has ${problem} in its name, which onnxruntime cannot take as an input or output name, so an emitted model could not be run; rename it in the model to emit it.`,
    );
  }
}
