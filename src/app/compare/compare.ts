import { adviseCompare, channelPeaks } from '../../analysis/advisor.js';
import { attributeRows, exactMetrics } from '../../analysis/attribution.js';
import type { ComparisonReport, ComparisonRow } from '../../analysis/comparison.js';
import { valueDistribution } from '../../analysis/distribution.js';
import { computeMetrics, type MetricOptions, type Metrics } from '../../analysis/metrics.js';
import { messageOf, UserError } from '../../core/errors.js';
import { selectTensors } from '../../core/selector.js';
import type { Tensor } from '../../core/tensor.js';
import { planToFile } from '../../quant/plan.js';
import { storagePrecisions } from '../../quant/shadow.js';
import type { FloatBackend } from '../../backends/float.js';
import type { QuantBackend } from '../../backends/quant.js';
import { RunDir } from '../../store/run-dir.js';
import { allActivationTensors, floatBackendFor, type ModelContext } from '../context.js';
import { adviceGraph, calibrationFacts, gridRange, outputStats, quantizedPrecisionOf } from './compare-advice.js';
import { ownOutputs } from './compare-own.js';
import { achievableValue, metricsOrNull, tapPerturbation } from './compare-runs.js';
import {
  assembleReport,
  checkCancelled,
  criterionOf,
  gatePasses,
  passesCriterion,
  preparePlotPath,
  writePlots,
  writeReportJson,
  type Criterion,
} from './compare-report.js';
import { silent, type ProgressListener } from '../events.js';
import { inSampleWarning } from '../evaluation.js';
import { planMemoryUse } from '../memory-plan.js';
import { quantBackendFor } from '../quantize.js';
import type { QuantSetup } from '../quant-setup.js';

export interface CompareOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** Tap specs (selection language); default `@all`. The graph outputs are always compared. */
  readonly taps?: readonly string[];
  /** `--metric`; default the gate of analysis/gate.ts (snrDb >= 30, outputs also psnrDb >= 40). */
  readonly metric?: string;
  /** `--threshold`; default 30 for snrDb, 0.99 for the cosines, required for other metrics. */
  readonly threshold?: number;
  /** `--peak` of the outputs' PSNR; default max |x| of each float output. */
  readonly peak?: number;
  readonly maxMemory?: number;
  /** Run directory: float and quant tensors, manifest and report.json. Nothing is written without it. */
  readonly outDir?: string;
  /** Depth plot PNG; image-like outputs also get `<plot>-<output>.png`. */
  readonly plot?: string;
  /** Measure own error with the shadow graph (default true). */
  readonly own?: boolean;
  /** Run the INT16 plan for report.achievable (default true). */
  readonly achievable?: boolean;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface CompareTimings {
  readonly floatMs: number;
  readonly quantMs: number;
  readonly ownMs: number;
  readonly metricsMs: number;
  readonly writeMs: number;
  /** The perturbation and achievable runs. */
  readonly extraMs: number;
  readonly totalMs: number;
}

export interface CompareResult {
  readonly report: ComparisonReport;
  readonly outDir: string | null;
  /** How many memory groups the taps ran in. */
  readonly groups: number;
  /** The `--fail-under` gate: every output passes. */
  readonly gatePasses: boolean;
  readonly plots: readonly string[];
  /** Quantization the shadow graph could not emulate, one sentence each. */
  readonly notes: readonly string[];
  readonly timings: CompareTimings;
}

/** The taps of a compare: the selected tensors plus the graph outputs, in topological order. */
export function compareTaps(ctx: ModelContext, specs: readonly string[] | undefined): string[] {
  const selected = new Set(selectTensors(ctx.graph, specs && specs.length > 0 ? specs : ['@all']));
  for (const o of ctx.graph.outputs) selected.add(o.name);
  return allActivationTensors(ctx.graph).filter((t) => selected.has(t));
}

/** What the group loop shares: the inputs, the two pinned backends, the run directory and the timers. */
interface GroupContext {
  readonly options: CompareOptions;
  readonly taps: ReadonlySet<string>;
  readonly criterion: Criterion;
  readonly float: FloatBackend;
  readonly quant: QuantBackend;
  readonly run: RunDir | null;
  readonly metricOptions: (tensor: string) => MetricOptions;
  readonly time: <T>(key: Exclude<keyof CompareTimings, 'totalMs'>, work: () => Promise<T> | T) => Promise<T>;
  /** The graph outputs' float and quant values, kept for the perturbation, achievable and image plots. */
  readonly floatOutputs: Map<string, Tensor>;
  readonly quantOutputs: Map<string, Tensor>;
  readonly notes: Set<string>;
  /** Peak |x| per channel of each reference tensor, for the advisor's outlier-channel rule. */
  readonly peaks: Map<string, Float64Array>;
}

/**
 * Runs the float and quant backends on the same inputs and compares every tap (DESIGN.md §5).
 *
 * Taps run in groups that fit `maxMemory`; both backends are pinned to the whole tap set (every
 * tap stays a boundary of the quant model, so the numerics do not depend on the grouping) and
 * each run outputs one group. Per group: the
 * float and quant tensors are compared (and written to the run directory when asked), the quant
 * tensors are released, one shadow-graph run gives the group's own outputs, and everything but
 * the graph outputs is released. Then one quant run without taps gives the tap perturbation, one
 * run of the INT16 plan the achievable value, and verdicts are derived from own vs accumulated
 * error. A cancelled compare throws CancelledError and leaves the run's manifest incomplete.
 */
export async function compareModel(options: CompareOptions): Promise<CompareResult> {
  const started = Date.now();
  const { ctx, quant } = options;
  const onProgress = options.onProgress ?? silent;
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  if (options.plot !== undefined) preparePlotPath(options.plot);
  const taps = compareTaps(ctx, options.taps);
  const outputs = ctx.graph.outputs.map((o) => o.name);
  // A group's tensors are held twice at once (float and quant, then float and own): both count.
  const { groups } = planMemoryUse(ctx, 'compare', options.maxMemory, taps);
  const storage = storagePrecisions({ graph: ctx.graph, plan: quant.plan, taps: new Set(taps), values: ctx.values });
  const quantizedAt = quantizedPrecisionOf(ctx.graph, quant.plan, storage);
  const run =
    options.outDir === undefined
      ? null
      : RunDir.create(options.outDir, {
          model: { path: ctx.loaded.path, sha256: ctx.modelSha256 },
          inputs: ctx.sources,
          profile: quant.profile.name,
          plan: planToFile(quant.plan),
          calibrationId: quant.calibration.id,
          taps,
        });
  const timings = { floatMs: 0, quantMs: 0, ownMs: 0, metricsMs: 0, writeMs: 0, extraMs: 0 };
  try {
    const rows: ComparisonRow[] = [];
    onProgress({ type: 'stage', stage: 'compare', detail: `${taps.length} tensors in ${groups.length} group(s)` });
    const gc: GroupContext = {
      options,
      taps: new Set(taps),
      criterion,
      run,
      float: await floatBackendFor(ctx),
      quant: await quantBackendFor(ctx, quant.plan, quant.calibration),
      metricOptions: (t) => {
        // Stored quantized, or read through a Q/DQ pair by a quantized node: clipRatio applies.
        const p = quantizedAt(t);
        const range = p ? gridRange(quant.calibration, quant.profile, t, p) : undefined;
        return { ...(storage.get(t) === 'fp16' ? { fp16: true } : {}), ...(range ? { calibratedRange: range } : {}) };
      },
      time: async (key, work) => {
        const s = Date.now();
        try {
          return await work();
        } finally {
          timings[key] += Date.now() - s;
        }
      },
      floatOutputs: new Map(),
      quantOutputs: new Map(),
      notes: new Set(),
      peaks: new Map(),
    };
    try {
      await gc.float.prepare(taps);
      await gc.quant.prepare(taps);
      for (const [g, group] of groups.entries()) {
        rows.push(...(await compareGroup(gc, group)));
        onProgress({ type: 'progress', stage: 'compare', done: g + 1, total: groups.length, detail: `${group.length} tensor(s)` });
      }
    } finally {
      await gc.float.dispose();
      await gc.quant.dispose();
    }

    const { perturbation, achievable } = await gc.time('extraMs', async () => {
      checkCancelled(options.signal, 'Compare');
      const p = await tapPerturbation(options, taps, rows, gc.floatOutputs, criterion);
      checkCancelled(options.signal, 'Compare');
      const a = (options.achievable ?? true) ? await achievableValue(options, gc.floatOutputs, criterion) : undefined;
      return { perturbation: p, achievable: a };
    });
    const assembled = assembleReport({
      criterion,
      rows:
        (options.own ?? true)
          ? attributeRows(rows, {
              ...criterion,
              inputsOf: (name) => ctx.graph.producer.get(name)?.inputs.filter((x) => x !== '' && !ctx.graph.initializers.has(x)) ?? [],
              isGraphInput: (name) => ctx.graph.inputs.some((i) => i.name === name),
            })
          : rows,
      outputs,
      model: ctx.modelName,
      profile: quant.profile.name,
      perturbation,
      achievable,
    });
    const report = {
      ...assembled,
      inSample: inSampleWarning([ctx], quant.calibration, false),
      findings: adviseCompare(assembled, {
        graph: adviceGraph(ctx.graph, ctx.values, quant.plan),
        calibration: calibrationFacts(quant.calibration, quant.profile, quantizedAt),
        channelPeaks: gc.peaks,
        outputStats: outputStats(gc.floatOutputs),
      }),
    };
    const images = outputs.flatMap((o) => {
      const ref = gc.floatOutputs.get(o);
      const test = gc.quantOutputs.get(o);
      return ref && test ? [{ name: o, ref, test }] : [];
    });
    const plots = options.plot !== undefined ? await writePlots(options.plot, report, images) : [];
    if (run) {
      writeReportJson(run.path, report);
      run.complete();
    }
    return {
      report,
      outDir: run ? run.path : null,
      groups: groups.length,
      gatePasses: gatePasses(report),
      plots,
      notes: [...gc.notes],
      timings: { ...timings, totalMs: Date.now() - started },
    };
  } catch (error) {
    run?.flush();
    throw error;
  }
}

/**
 * One memory group: float and quant runs, the accumulated comparison (and the tensors written),
 * the quant tensors released, then the own outputs from one shadow-graph run.
 */
async function compareGroup(gc: GroupContext, group: readonly string[]): Promise<ComparisonRow[]> {
  const { options, run, time } = gc;
  const { ctx } = options;
  checkCancelled(options.signal, 'Compare');
  let floatOut: Map<string, Tensor> | null = await time('floatMs', () => gc.float.run(ctx.feeds, group));
  let quantOut: Map<string, Tensor> | null = await time('quantMs', () => gc.quant.run(ctx.feeds, group));
  const refs = new Map<string, Tensor>();
  const rows = new Map<string, ComparisonRow>();
  for (const name of group) {
    const ref = floatOut.get(name) ?? ctx.feeds.get(name);
    const test = quantOut.get(name) ?? ctx.feeds.get(name);
    rows.set(name, await time('metricsMs', () => compareRow(ctx, name, ref, test, gc.metricOptions(name), gc.criterion)));
    if (ref) {
      refs.set(name, ref);
      const peaks = await time('metricsMs', () => channelPeaks(ref));
      if (peaks) gc.peaks.set(name, peaks);
    }
    if (run) {
      const node = ctx.graph.producer.get(name);
      const origin = node ? { name: node.name, opType: node.opType } : null;
      await time('writeMs', () => {
        if (ref) run.writeTensor('float', name, ref, origin);
        if (test) run.writeTensor('quant', name, test, origin);
      });
    }
    if (ctx.graph.outputs.some((o) => o.name === name)) {
      if (ref) gc.floatOutputs.set(name, ref);
      if (test) gc.quantOutputs.set(name, test);
    }
  }
  // Only the float values are needed from here on (own metrics): let the rest be collected.
  // eslint-disable-next-line no-useless-assignment -- dropping the references is the point
  quantOut = null;
  // eslint-disable-next-line no-useless-assignment -- as above
  floatOut = null;
  if (!(options.own ?? true)) return [...rows.values()];

  checkCancelled(options.signal, 'Compare');
  const own = await time('ownMs', () => ownOutputs(ctx, options.quant, gc.taps, group, ctx.feeds));
  for (const n of own.notes) gc.notes.add(n);
  const out: ComparisonRow[] = [];
  for (const [name, row] of rows) {
    const source = own.sources.get(name);
    const ref = refs.get(name);
    let ownMetrics: Metrics | null = null;
    if (source?.kind === 'exact' && row.metrics) {
      ownMetrics = exactMetrics(row.metrics);
    } else if (source?.kind === 'unavailable') {
      gc.notes.add(source.reason);
    } else if (source?.kind === 'shadow' && ref) {
      const value = own.tensors.get(name);
      ownMetrics = value ? await time('metricsMs', () => metricsOrNull(ref, value, gc.metricOptions(name))) : null;
    }
    out.push({ ...row, own: ownMetrics });
  }
  return out;
}

/** One row: the accumulated comparison of a tap, or the reason it could not be compared. */
function compareRow(
  ctx: ModelContext,
  name: string,
  ref: Tensor | undefined,
  test: Tensor | undefined,
  options: MetricOptions,
  criterion: Criterion,
): ComparisonRow {
  const node = ctx.graph.producer.get(name);
  const base = {
    tensor: name,
    node: node?.name ?? '',
    opType: node?.opType ?? '',
    index: node?.index ?? -1,
    shape: [...(ref?.dims ?? test?.dims ?? [])],
    dtype: ref?.dtype ?? test?.dtype ?? '',
  };
  if (!ref || !test) {
    const error = `The ${ref ? 'quant' : 'float'} backend returned no value for it.`;
    return { ...base, metrics: null, pass: false, error };
  }
  try {
    const metrics = computeMetrics(ref, test, options);
    return {
      ...base,
      metrics,
      distribution: valueDistribution(ref, test, metrics),
      pass: passesCriterion(
        metrics,
        criterion,
        ctx.graph.outputs.some((o) => o.name === name),
      ),
    };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { ...base, metrics: null, pass: false, error: messageOf(error) };
  }
}
