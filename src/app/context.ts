import { basename } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import type { Tensor } from '../core/tensor.js';
import { inferShapes, tensorBytes, type InferredValue } from '../analysis/shape-inference.js';
import { FloatBackend } from '../backends/float.js';
import { initializerTensor, modelSha256 } from '../onnx/index.js';
import type { InputEntry } from '../store/manifest.js';
import { parsePreprocess, type Preprocess } from '../store/image.js';
import { parseInputSpec, parseShapeSpec, resolveInputs } from './inputs.js';
import { loadModel, type LoadedModel } from './load-model.js';
import type { ProgressListener } from './events.js';

/** The model and inputs part shared by every command that runs a model. */
export interface ModelInputOptions {
  readonly modelPath: string;
  /** `--input` values. */
  readonly inputs?: readonly string[];
  /** `--shape` values. */
  readonly shapes?: readonly string[];
  /** `--preprocess` value. */
  readonly preprocess?: string;
  readonly seed?: number;
  /**
   * `--input` values whose shapes fix dynamic dimensions of synthesized inputs (the first
   * calibration sample), when `--shape` does not.
   */
  readonly shapeFrom?: readonly string[];
  /** Receives one info line per shape chosen for the user (kept in `notices` too). */
  readonly onProgress?: ProgressListener;
  /**
   * Open the graph even when the inputs cannot be resolved (a dynamic dimension nothing fixes):
   * the context then has no feeds and `inputsError` says why, for whoever runs it (the terminal
   * UI shows the graph first).
   */
  readonly deferInputs?: boolean;
}

export interface ModelContext {
  readonly loaded: LoadedModel;
  readonly graph: Graph;
  readonly modelName: string;
  readonly modelSha256: string;
  readonly feeds: Map<string, Tensor>;
  readonly sources: readonly InputEntry[];
  readonly preprocess?: Preprocess;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  /** Inferred dtype and shape of every tensor, with the actual input shapes. */
  readonly values: ReadonlyMap<string, InferredValue>;
  /** Shapes chosen for the user when opening (a batch of 1, a shape from a calibration file). */
  readonly notices: readonly string[];
  /** Why there are no feeds, when opened with `deferInputs` and the inputs could not be resolved. */
  readonly inputsError?: UserError;
  bytesOf(tensor: string): number | null;
}

/** Loads the model, resolves its inputs and infers every tensor's shape. */
export async function openModel(options: ModelInputOptions): Promise<ModelContext> {
  const loaded = loadModel(options.modelPath);
  const graph = loaded.graph;
  const names = graph.inputs.map((i) => i.name);
  const specs = (options.inputs ?? []).map((t) => parseInputSpec(t, names));
  const shapes: Record<string, number[]> = {};
  for (const s of options.shapes ?? []) {
    const { name, shape } = parseShapeSpec(s);
    shapes[name] = shape;
  }
  const preprocess = options.preprocess ? parsePreprocess(options.preprocess) : undefined;
  const shapeFrom = (options.shapeFrom ?? []).map((t) => parseInputSpec(t, names));
  let resolved: Awaited<ReturnType<typeof resolveInputs>>;
  let inputsError: UserError | undefined;
  try {
    resolved = await resolveInputs(graph, specs, { shapes, preprocess, seed: options.seed, shapeFrom });
  } catch (error) {
    if (!options.deferInputs || !(error instanceof UserError)) throw error;
    resolved = { feeds: new Map(), sources: [], notices: [] };
    inputsError = error;
  }
  const { feeds, sources, notices } = resolved;
  for (const message of notices) options.onProgress?.({ type: 'log', level: 'info', message });
  const values = valuesFor(loaded, feeds);
  return {
    loaded,
    graph,
    modelName: basename(options.modelPath).replace(/\.onnx$/i, ''),
    modelSha256: modelSha256(loaded.model),
    feeds,
    sources,
    preprocess,
    shapes,
    values,
    notices,
    ...(inputsError ? { inputsError } : {}),
    bytesOf: (t) => {
      const v = values.get(t);
      return v ? tensorBytes(v) : null;
    },
  };
}

export function valuesFor(loaded: LoadedModel, feeds: ReadonlyMap<string, Tensor>): Map<string, InferredValue> {
  const inputShapes = new Map([...feeds].map(([k, t]) => [k, t.dims]));
  return inferShapes(loaded.graph, inputShapes, (name) => initializerTensor(loaded.model, name));
}

/** Every tensor a full comparison can tap: graph inputs, then node outputs, in topological order. */
export function allActivationTensors(graph: Graph): string[] {
  const out = graph.inputs.map((i) => i.name);
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') out.push(o);
  return out;
}

export async function floatBackendFor(ctx: ModelContext): Promise<FloatBackend> {
  return FloatBackend.create(ctx.loaded.model, { label: `model '${ctx.loaded.path}'` });
}
