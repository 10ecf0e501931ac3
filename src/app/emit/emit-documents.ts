import { basename } from 'node:path';
import type { Dim, Graph } from '../../core/graph.js';
import type { Metrics } from '../../analysis/metrics.js';
import type { PlanCost } from '../../quant/cost.js';
import { fusionGroups, groupByNode } from '../../quant/fusion.js';
import { planToFile, precisionCounts } from '../../quant/plan.js';
import type { QdqOutput } from '../../quant/qdq-rewrite.js';
import type { EmitIoEntry, EmitManifest, EmitNodeEntry, EmitQuantFile } from '../../store/emit-files.js';
import { DEFAULT_PREPROCESS, isImageFile } from '../../store/image.js';
import { toolVersion } from '../../store/manifest.js';
import type { ModelContext } from '../context.js';
import type { EmitVerification } from './emit-verify.js';
import { inferLayout } from '../inputs.js';
import type { QuantSetup } from '../quant-setup.js';
import type { CalibrationTable } from '../../quant/calibration-table.js';

/** The two JSON documents written beside an emitted model (DESIGN.md §6; types in store/emit-files.ts). */

export interface OutputMetrics {
  readonly name: string;
  readonly metrics: Metrics;
}

/** One evaluation input's output metrics. */
export interface InputMetrics {
  /** Its source(s), one per model input, joined. */
  readonly input: string;
  readonly sources: ModelContext['sources'];
  readonly outputs: readonly OutputMetrics[];
}

export interface EmitDocumentsInput {
  readonly ctx: ModelContext;
  readonly setup: QuantSetup;
  readonly built: QdqOutput;
  /** The final path of the emitted model. */
  readonly modelFile: string;
  readonly quantFile: string;
  readonly modelSha256: string;
  /** Each output on its worst evaluation input (lowest SNR). */
  readonly metrics: readonly OutputMetrics[];
  readonly perInput: readonly InputMetrics[];
  /** Evaluation inputs that are also calibration inputs. */
  readonly inSample: readonly string[];
  readonly peak: number | null;
  readonly cost: PlanCost;
  readonly verification: EmitVerification;
}

export function quantDocument(input: EmitDocumentsInput): EmitQuantFile {
  const { ctx, setup, built } = input;
  const groupOf = groupByNode(fusionGroups(ctx.graph, setup.plan));
  const nodes: EmitNodeEntry[] = ctx.graph.nodes.map((n) => ({
    name: n.name,
    opType: n.opType,
    precision: setup.plan.precision.get(n.name) ?? setup.profile.floatOps,
    fusedWith: groupOf.get(n.name)?.nodes ?? null,
  }));
  return {
    schemaVersion: 1,
    model: basename(input.modelFile),
    profile: setup.profile.name,
    qdqDomain: built.qdqDomain,
    calibrationId: setup.calibration.id,
    tensors: built.records.map((r) => ({ ...r })),
    nodes,
  };
}

/** The layout of a rank-4 image-like value: the preprocessing's for image inputs, else guessed from the shape. */
function layoutOf(shape: readonly Dim[] | null, preset?: 'NCHW' | 'NHWC'): EmitIoEntry['layout'] {
  if (!shape || shape.length !== 4) return null;
  return preset ?? inferLayout(shape);
}

function ioEntries(graph: Graph, ctx: ModelContext, which: 'inputs' | 'outputs'): EmitIoEntry[] {
  return graph[which].map((v) => {
    const inferred = ctx.values.get(v.name);
    const shape = v.shape ?? inferred?.shape ?? null;
    const fromImage = which === 'inputs' && ctx.sources.some((s) => s.name === v.name && isImageFile(s.source));
    return {
      name: v.name,
      shape: shape ? [...shape] : null,
      dtype: v.dtype ?? inferred?.dtype ?? null,
      layout: layoutOf(shape, fromImage ? ctx.preprocess?.layout : undefined),
    };
  });
}

/** The metrics a manifest records for an output. */
function metricSummary(m: Metrics): Record<string, unknown> {
  return {
    cosine: m.cosine,
    snrDb: m.snrDb,
    psnrDb: m.psnrDb,
    mse: m.mse,
    maxAbs: m.maxAbs,
    relL2: m.relL2,
    worstChannelCosine: m.worstChannelCosine,
    worstChannel: m.worstChannel,
    nanTest: m.nanTest,
    infTest: m.infTest,
    nonFiniteIntroduced: m.nonFiniteIntroduced,
  };
}

/** The mean over evaluation inputs of the metrics a user compares (dB averaged as numbers). */
function meanSummary(list: readonly Metrics[]): Record<string, number> {
  const mean = (f: (m: Metrics) => number) => list.reduce((s, m) => s + f(m), 0) / list.length;
  return { cosine: mean((m) => m.cosine), snrDb: mean((m) => m.snrDb), psnrDb: mean((m) => m.psnrDb), maxAbs: mean((m) => m.maxAbs) };
}

/** The calibration's sources with the input each fed (tables written by calibrate record it; others feed the only input). */
function calibrationSources(calibration: CalibrationTable, ctx: ModelContext): { name: string; source: string }[] {
  return calibration.inputs.map((i) => {
    const name = (i as { name?: unknown }).name;
    return { name: typeof name === 'string' ? name : ctx.graph.inputs.length === 1 ? ctx.graph.inputs[0].name : '', source: i.source };
  });
}

export function manifestDocument(input: EmitDocumentsInput): EmitManifest {
  const { ctx, setup, built, verification } = input;
  const calibration = setup.calibration;
  // Every input fed from an image anywhere: the evaluation inputs, the run's own, and calibration's.
  const fed = [...ctx.sources, ...input.perInput.flatMap((p) => p.sources), ...calibrationSources(calibration, ctx)];
  const imageInputs = [...new Set(fed.filter((s) => isImageFile(s.source)).map((s) => s.name))];
  return {
    schemaVersion: 1,
    tool: { name: 'quantscope', version: toolVersion() },
    createdAt: new Date().toISOString(),
    model: { file: basename(input.modelFile), sha256: input.modelSha256, quantFile: basename(input.quantFile) },
    source: { path: ctx.loaded.path, sha256: ctx.modelSha256 },
    inputs: ioEntries(ctx.graph, ctx, 'inputs'),
    outputs: ioEntries(ctx.graph, ctx, 'outputs'),
    preprocessing: imageInputs.length === 0 ? null : { inputs: imageInputs, ...(ctx.preprocess ?? DEFAULT_PREPROCESS) },
    profile: { name: setup.profile.name, source: setup.profile.source, description: setup.profile.description },
    plan: { ...planToFile(setup.plan), precisionCounts: precisionCounts(setup.plan) },
    cost: input.cost,
    calibration: {
      id: calibration.id,
      method: calibration.method,
      percentile: calibration.percentile,
      samples: calibration.samples,
      inputs: calibration.inputs,
    },
    evaluation: {
      inputs: input.perInput.flatMap((p) => p.sources),
      inSample: input.inSample.length > 0,
      inSampleInputs: input.inSample,
      peak: input.peak,
      reference: 'the float model on onnxruntime (fp32)',
      // Each output on its worst evaluation input (lowest SNR), then the mean over inputs, then every input.
      outputs: input.metrics.map((o) => ({ name: o.name, ...metricSummary(o.metrics) })),
      mean: input.metrics.map((o, k) => ({ name: o.name, ...meanSummary(input.perInput.map((p) => p.outputs[k].metrics)) })),
      perInput: input.perInput.map((p) => ({
        input: p.input,
        sources: p.sources,
        outputs: p.outputs.map((o) => ({ name: o.name, ...metricSummary(o.metrics) })),
      })),
    },
    verification: {
      nodesChecked: verification.precision.nodes.length,
      precisionMismatches: verification.precision.mismatches.length,
      outputs: verification.outputs,
    },
    runtime: {
      provider: 'onnxruntime CPU',
      qdqDomain: built.qdqDomain === '' ? 'ai.onnx' : built.qdqDomain,
      // Below opset 10 onnxruntime would fuse the Q/DQ pairs into QLinear* kernels the model's opset lacks.
      sessionOptions: {},
    },
    notes: built.notes,
  };
}
