import { attributeRows, exactMetrics } from '../analysis/attribution.js';
import { rowPasses, type Achievable, type ComparisonReport, type ComparisonRow, type TapPerturbation } from '../analysis/comparison.js';
import { computeMetrics, metricValue, type MetricOptions, type Metrics } from '../analysis/metrics.js';
import { messageOf, UserError } from '../core/errors.js';
import { selectTensors } from '../core/selector.js';
import type { Tensor } from '../core/tensor.js';
import { rangeFromTable } from '../quant/calibration-table.js';
import { isQuantizable, planToFile, withOverrides } from '../quant/plan.js';
import { storagePrecisions } from '../quant/shadow.js';
import { RunDir } from '../store/run-dir.js';
import { allActivationTensors, floatBackendFor, type ModelContext } from './context.js';
import { ownOutputs } from './compare-own.js';
import {
  assembleReport, checkCancelled, criterionOf, gatePasses, perturbationOf, worstValue, writePlots, writeReportJson, type Criterion,
} from './compare-report.js';
import { silent, type ProgressListener } from './events.js';
import { DEFAULT_MAX_MEMORY, groupBySize } from './memory.js';
import { quantBackendFor } from './quantize.js';
import type { QuantSetup } from './quant-setup.js';

/** The size groupBySize assumes for a tensor whose size shape inference could not tell. */
const UNKNOWN_BYTES = 16 * 1024 * 1024;

export interface CompareOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** Tap specs (selection language); default `@all`. The graph outputs are always compared. */
  readonly taps?: readonly string[];
  /** `--metric`; default cosine. */
  readonly metric?: string;
  /** `--threshold`; default 0.99 for the cosines, required for other metrics. */
  readonly threshold?: number;
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

/**
 * Runs the float and quant backends on the same inputs and compares every tap (DESIGN.md §5).
 *
 * Taps run in groups that fit `maxMemory`; both backends pin one model holding all the taps, so
 * the numerics do not depend on the grouping, and each run fetches one group. Per group: the
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
  const criterion = criterionOf(options.metric, options.threshold);
  if (options.plot !== undefined && !options.plot.toLowerCase().endsWith('.png')) throw new UserError(`--plot '${options.plot}' must name a .png file.`);
  const taps = compareTaps(ctx, options.taps);
  const tapSet = new Set(taps);
  const outputs = ctx.graph.outputs.map((o) => o.name);
  // A group's tensors are held twice at once (float and quant, then float and own): both count.
  const groups = groupBySize(taps, (t) => 2 * (ctx.bytesOf(t) ?? UNKNOWN_BYTES), options.maxMemory ?? DEFAULT_MAX_MEMORY);
  const storage = storagePrecisions({ graph: ctx.graph, plan: quant.plan, taps: tapSet, values: ctx.values });
  const metricOptions = (t: string): MetricOptions => {
    const s = storage.get(t);
    if (s === 'fp16') return { fp16: true };
    const range = s ? rangeFromTable(quant.calibration, t, s === 'int8' ? 8 : 16) : undefined;
    return range ? { calibratedRange: range } : {};
  };
  const run = options.outDir === undefined ? null : RunDir.create(options.outDir, {
    model: { path: ctx.loaded.path, sha256: ctx.modelSha256 },
    inputs: ctx.sources,
    profile: quant.profile.name,
    plan: planToFile(quant.plan),
    calibrationId: quant.calibration.id,
    taps,
  });
  try {
    const t = { floatMs: 0, quantMs: 0, ownMs: 0, metricsMs: 0, writeMs: 0, extraMs: 0 };
    const time = async <T>(key: keyof typeof t, work: () => Promise<T> | T): Promise<T> => {
      const s = Date.now();
      try { return await work(); } finally { t[key] += Date.now() - s; }
    };

    const rows: ComparisonRow[] = [];
    const notes = new Set<string>();
    const floatOutputs = new Map<string, Tensor>();
    const quantOutputs = new Map<string, Tensor>();
    onProgress({ type: 'stage', stage: 'compare', detail: `${taps.length} tensors in ${groups.length} group(s)` });
    const floatBackend = await floatBackendFor(ctx);
    const quantBackend = await quantBackendFor(ctx, quant.plan, quant.calibration);
    try {
      await floatBackend.prepare(taps);
      await quantBackend.prepare(taps);
      for (const [g, group] of groups.entries()) {
        checkCancelled(options.signal, 'Compare');
        let floatOut: Map<string, Tensor> | null = await time('floatMs', () => floatBackend.run(ctx.feeds, group));
        let quantOut: Map<string, Tensor> | null = await time('quantMs', () => quantBackend.run(ctx.feeds, group));
        const refs = new Map<string, Tensor>();
        const groupRows = new Map<string, ComparisonRow>();
        for (const name of group) {
          const ref = floatOut.get(name) ?? ctx.feeds.get(name);
          const test = quantOut.get(name) ?? ctx.feeds.get(name);
          const row = await time('metricsMs', () => compareRow(ctx, name, ref, test, metricOptions(name), criterion));
          groupRows.set(name, row);
          if (ref) refs.set(name, ref);
          if (run) {
            const node = ctx.graph.producer.get(name);
            const origin = node ? { name: node.name, opType: node.opType } : null;
            await time('writeMs', () => {
              if (ref) run.writeTensor('float', name, ref, origin);
              if (test) run.writeTensor('quant', name, test, origin);
            });
          }
          if (outputs.includes(name)) {
            if (ref) floatOutputs.set(name, ref);
            if (test) quantOutputs.set(name, test);
          }
        }
        quantOut = null;
        floatOut = null;
        checkCancelled(options.signal, 'Compare');
        if (options.own ?? true) {
          const own = await time('ownMs', () => ownOutputs(ctx, quant, tapSet, group, ctx.feeds));
          for (const n of own.notes) notes.add(n);
          for (const name of group) {
            const row = groupRows.get(name) as ComparisonRow;
            const source = own.sources.get(name);
            const ref = refs.get(name);
            let ownMetrics: Metrics | null = null;
            if (source?.kind === 'exact' && row.metrics) ownMetrics = exactMetrics(row.metrics);
            else if (source?.kind === 'unavailable') notes.add(source.reason);
            else if (source?.kind === 'shadow' && ref) {
              const value = own.tensors.get(name);
              ownMetrics = value ? await time('metricsMs', () => metricsOrNull(ref, value, metricOptions(name))) : null;
            }
            groupRows.set(name, { ...row, own: ownMetrics });
          }
        }
        rows.push(...groupRows.values());
        onProgress({ type: 'progress', stage: 'compare', done: g + 1, total: groups.length, detail: `${group.length} tensor(s)` });
      }
    } finally {
      await floatBackend.dispose();
      await quantBackend.dispose();
    }

    const extraStart = Date.now();
    checkCancelled(options.signal, 'Compare');
    const perturbation = await tapPerturbation(options, taps, rows, floatOutputs, criterion);
    checkCancelled(options.signal, 'Compare');
    const achievable = (options.achievable ?? true) ? await achievableValue(options, floatOutputs, criterion) : undefined;
    t.extraMs += Date.now() - extraStart;

    const own = options.own ?? true;
    const report = assembleReport({
      criterion,
      rows: own ? attributeRows(rows, {
        ...criterion,
        inputsOf: (name) => {
          const node = ctx.graph.producer.get(name);
          return node ? node.inputs.filter((x) => x !== '' && !ctx.graph.initializers.has(x)) : [];
        },
        isGraphInput: (name) => ctx.graph.inputs.some((i) => i.name === name),
      }) : rows,
      outputs,
      model: ctx.modelName,
      profile: quant.profile.name,
      perturbation,
      achievable,
    });
    let plots: string[] = [];
    if (options.plot !== undefined) {
      const images = outputs.flatMap((o) => {
        const ref = floatOutputs.get(o);
        const test = quantOutputs.get(o);
        return ref && test ? [{ name: o, ref, test }] : [];
      });
      plots = await writePlots(options.plot, report, images);
    }
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
      notes: [...notes],
      timings: { ...t, totalMs: Date.now() - started },
    };
  } catch (error) {
    run?.flush();
    throw error;
  }
}

function metricsOrNull(ref: Tensor, test: Tensor, options: MetricOptions): Metrics | null {
  try {
    return computeMetrics(ref, test, options);
  } catch (error) {
    if (error instanceof UserError) return null;
    throw error;
  }
}

/** One row: the accumulated comparison of a tap, or the reason it could not be compared. */
function compareRow(ctx: ModelContext, name: string, ref: Tensor | undefined, test: Tensor | undefined, options: MetricOptions, criterion: Criterion): ComparisonRow {
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
    return { ...base, metrics, pass: rowPasses(metrics, criterion.metric, criterion.threshold) };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { ...base, metrics: null, pass: false, error: messageOf(error) };
  }
}

/**
 * The outputs' metric with the run's taps versus with none: one more quant run of the model
 * without taps. When the taps are the outputs alone the two runs are the same model, so no run is
 * needed.
 */
async function tapPerturbation(
  options: CompareOptions, taps: readonly string[], rows: readonly ComparisonRow[], floatOutputs: ReadonlyMap<string, Tensor>, criterion: Criterion,
): Promise<TapPerturbation | null> {
  const { ctx, quant } = options;
  const outputs = ctx.graph.outputs.map((o) => o.name);
  const tapped = taps.some((t) => !outputs.includes(t));
  const onProgress = options.onProgress ?? silent;
  let untapped: Map<string, Tensor> | null = null;
  if (tapped) {
    onProgress({ type: 'stage', stage: 'perturbation', detail: 'quant run without taps' });
    const backend = await quantBackendFor(ctx, quant.plan, quant.calibration);
    try {
      untapped = await backend.run(ctx.feeds, []);
    } finally {
      await backend.dispose();
    }
  }
  const pairs: { output: string; withTaps: Metrics; withoutTaps: Metrics }[] = [];
  for (const o of outputs) {
    const row = rows.find((r) => r.tensor === o);
    const ref = floatOutputs.get(o);
    if (!row?.metrics || !ref) continue;
    const value = untapped ? untapped.get(o) : undefined;
    const without = untapped ? (value ? metricsOrNull(ref, value, {}) : null) : row.metrics;
    if (without) pairs.push({ output: o, withTaps: row.metrics, withoutTaps: without });
  }
  return perturbationOf(criterion.metric, pairs);
}

/** What the INT16 plan (`*=int16` over the plan) reaches at the outputs, without taps; null when the profile quantizes no node. */
async function achievableValue(options: CompareOptions, floatOutputs: ReadonlyMap<string, Tensor>, criterion: Criterion): Promise<Achievable | null> {
  const { ctx, quant } = options;
  if (!ctx.graph.nodes.some((n) => isQuantizable(quant.plan.profile, n))) return null;
  (options.onProgress ?? silent)({ type: 'stage', stage: 'achievable', detail: 'quant run of the INT16 plan' });
  const plan = withOverrides(quant.plan, ctx.graph, [['*', 'int16']]);
  const backend = await quantBackendFor(ctx, plan, quant.calibration);
  let out: Map<string, Tensor>;
  try {
    out = await backend.run(ctx.feeds, []);
  } finally {
    await backend.dispose();
  }
  const values: number[] = [];
  for (const [o, ref] of floatOutputs) {
    const value = out.get(o);
    const m = value ? metricsOrNull(ref, value, {}) : null;
    if (m) values.push(metricValue(m, criterion.metric));
  }
  return values.length > 0 ? { label: 'INT16 plan', value: worstValue(criterion.metric, values) } : null;
}
