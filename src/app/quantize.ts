import { QuantBackend } from '../backends/quant.js';
import type { OptimizationLevel } from '../backends/session.js';
import type { OnnxModel } from '../onnx/index.js';
import type { CalibrationTable } from '../quant/calibration-table.js';
import { rangeFromTable } from '../quant/calibration-table.js';
import type { Plan } from '../quant/plan.js';
import { buildQdqModel, type QdqOutput } from '../quant/qdq-rewrite.js';
import type { ModelContext } from './context.js';

/** Builds the QDQ model of a plan for a tap set. */
export function qdqModel(ctx: ModelContext, plan: Plan, calibration: CalibrationTable, taps: readonly string[], outputs?: readonly string[]): QdqOutput {
  return buildQdqModel({
    model: ctx.loaded.model,
    graph: ctx.graph,
    plan,
    range: (t, bits) => rangeFromTable(calibration, t, bits),
    taps: new Set(taps),
    outputs: outputs ? new Set(outputs) : undefined,
    values: ctx.values,
  });
}

/**
 * Whether onnxruntime may fuse the QDQ model's Q/DQ pairs into integer kernels: only from opset
 * 10, where the QLinear* ops exist (below it, the fusion would emit ops the model's opset lacks).
 */
export function usesQdqFusion(ctx: ModelContext): boolean {
  return (ctx.graph.opsets.get('') ?? 1) >= 10;
}

/** The quant backend for a plan: one QDQ model per tap set, built on demand. */
export async function quantBackendFor(ctx: ModelContext, plan: Plan, calibration: CalibrationTable, optimization?: OptimizationLevel): Promise<QuantBackend> {
  return QuantBackend.create({
    optimization,
    build: (taps, outputs): OnnxModel => qdqModel(ctx, plan, calibration, taps, outputs).model,
    graphOutputs: ctx.graph.outputs.map((o) => o.name),
    label: `the ${plan.profile.name} QDQ model of '${ctx.loaded.path}'`,
    disableQdqFusion: !usesQdqFusion(ctx),
  });
}
