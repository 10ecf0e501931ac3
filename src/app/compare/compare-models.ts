import { basename } from 'node:path';
import { adviseCompare } from '../../analysis/advisor.js';
import type { ComparisonReport, ComparisonRow } from '../../analysis/comparison.js';
import { valueDistribution } from '../../analysis/distribution.js';
import { computeMetrics } from '../../analysis/metrics.js';
import { pairTensors, type TensorPair } from '../../analysis/tensor-pairs.js';
import type { Backend } from '../../backends/backend.js';
import { FloatBackend } from '../../backends/float.js';
import { displayName } from '../../core/closest.js';
import { InternalError, messageOf, UserError } from '../../core/errors.js';
import { selectTensors } from '../../core/selector.js';
import { makeTensor, toFloat64, type Tensor } from '../../core/tensor.js';
import { initializerTensor } from '../../onnx/index.js';
import { makeDirectory } from '../../store/directories.js';
import { readTensorMap } from '../../store/tensor-map.js';
import { adviceGraph, outputStats } from './compare-advice.js';
import {
  assembleReport,
  checkCancelled,
  criterionOf,
  gatePasses,
  passesCriterion,
  preparePlotPath,
  writePlots,
  writeReportJson,
} from './compare-report.js';
import type { ModelContext } from '../context.js';
import { silent, type ProgressListener } from '../events.js';
import { loadModel, type LoadedModel } from '../load-model.js';
import { planMemoryUse } from '../memory-plan.js';
import type { QuantSetup } from '../quant-setup.js';
import { quantBackendFor } from '../quantize.js';

export interface CompareModelsOptions {
  /** The reference model, opened on the inputs (its feeds feed both models). */
  readonly ctx: ModelContext;
  /** The model under test: a rewrite of the reference, or a quantized ONNX made elsewhere (QDQ or QOperator). */
  readonly testModel: string;
  /** `--map`: a JSON object from reference tensor names to test tensor names. */
  readonly mapFile?: string;
  /** Tap specs on the reference (default every tensor that has a counterpart). */
  readonly taps?: readonly string[];
  readonly metric?: string;
  readonly threshold?: number;
  readonly peak?: number;
  readonly maxMemory?: number;
  readonly outDir?: string;
  readonly plot?: string;
  /**
   * Which backend runs each side (default float: onnxruntime as the model is). `quant` runs that
   * model through quantscope's quantized backend, calibrated by `quantSetup`; the test side then
   * needs `testCtx` (the test model opened on the same inputs).
   */
  readonly backends?: { readonly ref?: 'float' | 'quant'; readonly test?: 'float' | 'quant' };
  readonly testCtx?: ModelContext;
  readonly quantSetup?: (ctx: ModelContext) => Promise<QuantSetup>;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface CompareModelsResult {
  readonly report: ComparisonReport;
  readonly gatePasses: boolean;
  readonly plots: readonly string[];
  readonly reportFile: string | null;
  readonly pairs: readonly TensorPair[];
  /** Notes for the user: how tensors were paired, what had no counterpart. */
  readonly notes: readonly string[];
}

/** The test model's feeds: the reference's, by input name, else by input position. */
function testFeeds(ctx: ModelContext, test: LoadedModel): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  test.graph.inputs.forEach((input, k) => {
    const value = ctx.feeds.get(input.name) ?? ctx.feeds.get(ctx.graph.inputs[k]?.name ?? '');
    if (!value) {
      throw new UserError(
        `The test model's input '${displayName(input.name)}' matches no input of the reference model by name or position; give the models the same inputs.`,
      );
    }
    feeds.set(input.name, value);
  });
  return feeds;
}

/** A QOperator tensor as float: (q − zero point) · scale, with a per-tensor scale. */
function dequantize(q: Tensor, pair: TensorPair, test: LoadedModel): Tensor {
  const scale = toFloat64(initializerTensor(test.model, pair.scale as string));
  const zero = pair.zeroPoint ? toFloat64(initializerTensor(test.model, pair.zeroPoint)) : new Float64Array([0]);
  if (scale.length !== 1 || zero.length !== 1) {
    throw new UserError(`Tensor '${displayName(pair.test)}' has a per-axis output scale, which quantscope cannot dequantize yet.`);
  }
  const values = toFloat64(q);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - zero[0]) * scale[0];
  return makeTensor('float32', q.dims, out);
}

/**
 * Model against model (issue: work with the tools users already have): the reference and the
 * test model run on the same inputs, each on the float backend (onnxruntime as the model is, so a
 * QDQ or QOperator model runs its own quantization), tensors paired by analysis/tensor-pairs.ts,
 * and the same report, verdicts, findings, plots and gate as compare. Tensors are fetched in
 * memory-bounded groups of pairs; both sides of a group are held at once.
 */
export async function compareModels(options: CompareModelsOptions): Promise<CompareModelsResult> {
  const { ctx } = options;
  const onProgress = options.onProgress ?? silent;
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  if (options.plot !== undefined) preparePlotPath(options.plot);
  const test = loadModel(options.testModel);
  const map = options.mapFile !== undefined ? readTensorMap(options.mapFile) : {};
  const explicit = options.taps !== undefined && options.taps.length > 0;
  const wanted = new Set(selectTensors(ctx.graph, explicit ? (options.taps as string[]) : ['@all']));
  for (const o of ctx.graph.outputs) wanted.add(o.name);
  // Graph inputs are fed the same values on both sides: worth a row only where the test model
  // quantizes them (a QuantizeLinear behind them) or the map pairs them.
  const inputs = new Set(ctx.graph.inputs.map((i) => i.name));
  const pairs = pairTensors(ctx.graph, test.graph, {
    map,
    wanted: new Set([...wanted, ...inputs]),
    initializers: new Set(test.graph.initializers.keys()),
  }).filter((p) => !(inputs.has(p.ref) && p.kind === 'name'));
  const notes: string[] = [];
  const unpaired = [...wanted].filter((t) => !pairs.some((p) => p.ref === t));
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  notes.push(
    `paired ${pairs.length} tensor(s) of '${basename(ctx.loaded.path)}' with '${basename(options.testModel)}': ${[...counts].map(([k, n]) => `${n} by ${k}`).join(', ') || 'none'}`,
  );
  if (unpaired.length > 0 && !explicit) {
    notes.push(`${unpaired.length} tensor(s) of the reference have no counterpart in the test model (give --map to pair them)`);
  }
  const { groups } = planMemoryUse(
    ctx,
    'compare',
    options.maxMemory,
    pairs.map((p) => p.ref),
  );
  const byRef = new Map(pairs.map((p) => [p.ref, p]));
  const outputs = ctx.graph.outputs.map((o) => o.name);
  const feeds = testFeeds(ctx, test);

  const backendFor = async (side: 'float' | 'quant' | undefined, c: ModelContext | undefined, model: LoadedModel, taps: string[]) => {
    if (side !== 'quant') return FloatBackend.create(model.model, { label: `model '${displayName(model.path)}'` });
    if (!c || !options.quantSetup) throw new InternalError('a quant side of compareModels needs its context and quantSetup');
    const setup = await options.quantSetup(c);
    const backend = await quantBackendFor(c, setup.plan, setup.calibration);
    await backend.prepare(taps);
    return backend;
  };
  const rows: ComparisonRow[] = [];
  const images: { name: string; ref: Tensor; test: Tensor }[] = [];
  const refOutputs = new Map<string, Tensor>();
  let refBackend: Backend | undefined;
  let testBackend: Backend | undefined;
  try {
    refBackend = await backendFor(
      options.backends?.ref,
      ctx,
      ctx.loaded,
      pairs.map((p) => p.ref),
    );
    testBackend = await backendFor(
      options.backends?.test,
      options.testCtx,
      test,
      pairs.map((p) => p.test),
    );
    onProgress({ type: 'stage', stage: 'compare models', detail: `${pairs.length} tensor pair(s) in ${groups.length} group(s)` });
    for (const [g, group] of groups.entries()) {
      checkCancelled(options.signal, 'Compare');
      const groupPairs = group.map((t) => byRef.get(t) as TensorPair);
      const a = await refBackend.run(ctx.feeds, group);
      const b = await testBackend.run(
        feeds,
        groupPairs.map((p) => p.test),
      );
      for (const p of groupPairs) {
        const node = ctx.graph.producer.get(p.ref);
        const base = { tensor: p.ref, node: node?.name ?? '', opType: node?.opType ?? '', index: node?.index ?? -1 };
        const x = a.get(p.ref) ?? ctx.feeds.get(p.ref);
        const raw = b.get(p.test) ?? feeds.get(p.test);
        if (!x || !raw) {
          rows.push({ ...base, shape: [], dtype: '', metrics: null, pass: false, error: 'onnxruntime returned no value for it.' });
          continue;
        }
        try {
          const y = p.kind === 'qoperator' ? dequantize(raw, p, test) : raw;
          const isOutput = outputs.includes(p.ref);
          const metrics = computeMetrics(x, y, options.peak !== undefined && isOutput ? { peak: options.peak } : {});
          const distribution = valueDistribution(x, y, metrics);
          rows.push({
            ...base,
            shape: [...x.dims],
            dtype: x.dtype,
            metrics,
            distribution,
            pass: passesCriterion(metrics, criterion, isOutput),
          });
          if (isOutput) {
            images.push({ name: p.ref, ref: x, test: y });
            refOutputs.set(p.ref, x);
          }
        } catch (error) {
          if (!(error instanceof UserError)) throw error;
          rows.push({ ...base, shape: [...x.dims], dtype: x.dtype, metrics: null, pass: false, error: messageOf(error) });
        }
      }
      onProgress({ type: 'progress', stage: 'compare models', done: g + 1, total: groups.length, detail: `${group.length} pair(s)` });
    }
  } finally {
    await refBackend?.dispose();
    await testBackend?.dispose();
  }
  if (explicit) {
    for (const t of unpaired) {
      const node = ctx.graph.producer.get(t);
      rows.push({
        tensor: t,
        node: node?.name ?? '',
        opType: node?.opType ?? '',
        index: node?.index ?? -1,
        shape: [],
        dtype: '',
        metrics: null,
        pass: false,
        error: 'No tensor of the test model stands for it (by --map, a DequantizeLinear, a QLinear output, its name or output position).',
      });
    }
  }
  const assembled = assembleReport({ criterion, rows, outputs, model: ctx.modelName });
  const report: ComparisonReport = {
    ...assembled,
    findings: adviseCompare(assembled, { outputStats: outputStats(refOutputs), graph: adviceGraph(ctx.graph, ctx.values) }),
  };
  const plots = options.plot !== undefined ? await writePlots(options.plot, report, images) : [];
  let reportFile: string | null = null;
  if (options.outDir !== undefined) {
    makeDirectory(options.outDir, 'Output directory');
    reportFile = writeReportJson(options.outDir, report);
  }
  return { report, gatePasses: gatePasses(report), plots, reportFile, pairs, notes };
}
