import { QuantBackend } from '../backends/quant.js';
import type { OptimizationLevel } from '../backends/session.js';
import type { Graph } from '../core/graph.js';
import { inferShapes, type InferredValue } from '../analysis/shape-inference.js';
import { convertOpset, graphOf, initializerTensor, type OnnxModel } from '../onnx/index.js';
import type { CalibrationTable } from '../quant/calibration-table.js';
import { rangeFromTable } from '../quant/calibration-table.js';
import type { Plan } from '../quant/plan.js';
import { buildQdqModel, QDQ_MIN_OPSET, type QdqOutput } from '../quant/qdq-rewrite.js';
import type { ModelContext } from './context.js';

/** The model the quant side rewrites, with its graph and inferred values. */
export interface QuantSource {
  readonly model: OnnxModel;
  readonly graph: Graph;
  readonly values: ReadonlyMap<string, InferredValue>;
}

const sources = new WeakMap<ModelContext, QuantSource>();

/**
 * The model the QDQ rewrite, the shadow graph and emit start from: the source model itself, or,
 * below QDQ_MIN_OPSET, the source converted to it (onnx/opset-convert.ts). onnxruntime's optimizer
 * turns QDQ patterns into QLinearConv (opset 10) and may add Round (opset 11), which an older
 * model's opset lacks, so an old model's QDQ form would load only with QDQ fusion switched off.
 * Converted, it runs with onnxruntime's default options, fused like a device, and emit writes a
 * model that loads anywhere. Tensor names are kept (taps, ranges and plans still apply); an op the
 * conversion replaces keeps its name on the node that writes its output.
 */
export function quantSource(ctx: ModelContext): QuantSource {
  const cached = sources.get(ctx);
  if (cached) return cached;
  const opset = ctx.graph.opsets.get('') ?? ctx.graph.opsets.get('ai.onnx') ?? QDQ_MIN_OPSET;
  let source: QuantSource;
  if (opset >= QDQ_MIN_OPSET) {
    source = { model: ctx.loaded.model, graph: ctx.graph, values: ctx.values };
  } else {
    const model = convertOpset(ctx.loaded.model, QDQ_MIN_OPSET);
    const graph = graphOf(model);
    const inputShapes = new Map([...ctx.feeds].map(([k, t]) => [k, t.dims]));
    source = { model, graph, values: inferShapes(graph, inputShapes, (name) => initializerTensor(model, name)) };
  }
  sources.set(ctx, source);
  return source;
}

/** Builds the QDQ model of a plan for a tap set. */
export function qdqModel(
  ctx: ModelContext,
  plan: Plan,
  calibration: CalibrationTable,
  taps: readonly string[],
  outputs?: readonly string[],
): QdqOutput {
  const source = quantSource(ctx);
  return buildQdqModel({
    model: source.model,
    graph: source.graph,
    plan,
    range: (t, bits) => rangeFromTable(calibration, t, bits),
    taps: new Set(taps),
    outputs: outputs ? new Set(outputs) : undefined,
    values: source.values,
  });
}

/** The quant backend for a plan: one QDQ model per tap set, built on demand. */
export async function quantBackendFor(
  ctx: ModelContext,
  plan: Plan,
  calibration: CalibrationTable,
  optimization?: OptimizationLevel,
): Promise<QuantBackend> {
  return QuantBackend.create({
    optimization,
    build: (taps, outputs): OnnxModel => qdqModel(ctx, plan, calibration, taps, outputs).model,
    graphOutputs: ctx.graph.outputs.map((o) => o.name),
    label: `the ${plan.profile.name} QDQ model of '${ctx.loaded.path}'`,
  });
}
