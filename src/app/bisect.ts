import { adviseBisect, type Finding } from '../analysis/advisor.js';
import { BisectSearch, bisectCandidates, bisectRunBudget, type Certificate } from '../analysis/bisect.js';
import { rowPasses, type ComparisonReport, type TapPerturbation } from '../analysis/comparison.js';
import { computeMetrics, metricValue, type MetricName, type Metrics } from '../analysis/metrics.js';
import { bindingCondition, marginDb } from '../analysis/gate.js';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Graph, GraphNode } from '../core/graph.js';
import { byteSize, type Tensor } from '../core/tensor.js';
import type { FloatBackend } from '../backends/float.js';
import type { QuantBackend } from '../backends/quant.js';
import { fusionGroups, groupByNode } from '../quant/fusion.js';
import type { Plan } from '../quant/plan.js';
import { criterionOf, outputGoalOf, passesCriterion, perturbationOf, searchCriterion, type Criterion } from './compare-report.js';
import { allActivationTensors, floatBackendFor, type ModelContext } from './context.js';
import { adviceGraph } from './compare-advice.js';
import { silent, throwIfCancelled, type ProgressListener } from './events.js';
import { DEFAULT_MAX_MEMORY } from './memory.js';
import { quantBackendFor } from './quantize.js';
import type { QuantSetup } from './quant-setup.js';
import { inSampleWarning } from './evaluation.js';

/** One compared tensor of a bisect or fix run. */
export interface TensorVerdict {
  readonly tensor: string;
  /** Producing node ('' for a graph input). */
  readonly node: string;
  readonly opType: string;
  readonly metrics: Metrics;
  readonly pass: boolean;
}

/**
 * Runs one plan on the quant backend beside the float reference and compares tapped tensors.
 * The float session is built once with every activation tapped (taps are free there) and each
 * run fetches only what it compares; reference tensors are kept, most recently used first, up to
 * `maxMemory` bytes (the outputs always), since fix probes the same tensors round after round.
 * The quant backend builds a model for exactly each tap set, so fusion is broken at those taps
 * only. `quantRuns` counts quant executions over all plans.
 */
export class Prober {
  private quant: QuantBackend | null = null;
  private referenceOutputs: Map<string, Tensor> | null = null;
  /** Reference tensors by name, least recently used first. */
  private readonly references = new Map<string, Tensor>();
  private runsBefore = 0;

  private constructor(
    readonly ctx: ModelContext,
    private readonly setup: QuantSetup,
    private readonly float: FloatBackend,
    private readonly maxMemory: number,
  ) {}

  static async create(ctx: ModelContext, setup: QuantSetup, maxMemory = DEFAULT_MAX_MEMORY): Promise<Prober> {
    const float = await floatBackendFor(ctx);
    await float.prepare(allActivationTensors(ctx.graph).filter((t) => ctx.graph.producer.has(t)));
    return new Prober(ctx, setup, float, maxMemory);
  }

  /** The float reference of the tensors, from the cache or one float run. */
  private async reference(taps: readonly string[]): Promise<Map<string, Tensor>> {
    if (!this.referenceOutputs) this.referenceOutputs = await this.float.run(this.ctx.feeds, []);
    const outputs = this.referenceOutputs;
    const missing = taps.filter((t) => !outputs.has(t) && !this.references.has(t));
    const fetched = missing.length > 0 ? await this.float.run(this.ctx.feeds, missing) : new Map<string, Tensor>();
    const out = new Map<string, Tensor>();
    for (const t of taps) {
      const value = outputs.get(t) ?? this.references.get(t) ?? fetched.get(t);
      if (!value) continue;
      out.set(t, value);
      if (outputs.has(t)) continue;
      this.references.delete(t);
      this.references.set(t, value);
    }
    let bytes = 0;
    for (const v of this.references.values()) bytes += byteSize(v);
    for (const [t, v] of this.references) {
      if (bytes <= this.maxMemory) break;
      this.references.delete(t);
      bytes -= byteSize(v);
    }
    return out;
  }

  get outputs(): string[] {
    return this.ctx.graph.outputs.map((o) => o.name);
  }

  get quantRuns(): number {
    return this.runsBefore + (this.quant?.runs ?? 0);
  }

  /** Switches the quant backend to another plan (same profile and calibration). */
  async usePlan(plan: Plan): Promise<void> {
    if (this.quant) {
      this.runsBefore += this.quant.runs;
      await this.quant.dispose();
    }
    this.quant = await quantBackendFor(this.ctx, plan, this.setup.calibration);
  }

  /** One quant run with these taps; returns the metrics of the taps and of every graph output. */
  async measure(taps: readonly string[]): Promise<{ taps: Map<string, Metrics>; outputs: Map<string, Metrics> }> {
    if (!this.quant) await this.usePlan(this.setup.plan);
    const quant = this.quant as QuantBackend;
    const test = await quant.run(this.ctx.feeds, taps);
    const reference = await this.reference([...taps, ...this.outputs]);
    const compare = (t: string): Metrics => {
      const ref = reference.get(t);
      const got = test.get(t);
      if (!ref || !got) throw new UserError(`Tensor '${displayName(t)}' came back from only one backend; it cannot be compared.`);
      try {
        return computeMetrics(ref, got);
      } catch (error) {
        if (error instanceof UserError) throw new UserError(`Tensor '${displayName(t)}': ${error.message}`, { cause: error });
        throw error;
      }
    };
    return {
      taps: new Map(taps.map((t) => [t, compare(t)])),
      outputs: new Map(this.outputs.map((t) => [t, compare(t)])),
    };
  }

  verdict(tensor: string, metrics: Metrics, criterion: Criterion): TensorVerdict {
    const node = this.ctx.graph.producer.get(tensor);
    const isOutput = this.ctx.graph.outputs.some((o) => o.name === tensor);
    return { tensor, node: node?.name ?? '', opType: node?.opType ?? '', metrics, pass: passesCriterion(metrics, criterion, isOutput) };
  }

  /** Releases both backends; quantRuns keeps its count. */
  async dispose(): Promise<void> {
    if (this.quant) {
      this.runsBefore += this.quant.runs;
      await this.quant.dispose();
      this.quant = null;
    }
    this.references.clear();
    await this.float.dispose();
  }
}

/** Whether a tensor's metrics meet the criterion along the graph (rowPasses: no NaN/Inf introduced, the metric on the right side). */
export function passes(m: Metrics, c: Criterion): boolean {
  return rowPasses(m, c.metric, c.threshold);
}

/** Whether the node changes values in the quant model: quantized, fp16, or in a group stored at either. */
export function altersUnder(graph: Graph, plan: Plan): (node: GraphNode) => boolean {
  const groupOf = groupByNode(fusionGroups(graph, plan));
  return (node) => {
    const own = plan.precision.get(node.name) ?? plan.profile.floatOps;
    const kernel = groupOf.get(node.name)?.precision ?? own;
    return own !== 'fp32' || kernel !== 'fp32';
  };
}

/** Whether a tensor holds floats the metrics can compare (unknown dtypes count as float). */
export function isFloatTensor(ctx: ModelContext, tensor: string): boolean {
  const dtype = ctx.values.get(tensor)?.dtype ?? ctx.graph.values.get(tensor)?.dtype;
  return dtype === undefined || dtype === null || dtype === 'float32' || dtype === 'float16' || dtype === 'float64' || dtype === 'bfloat16';
}

export interface ProbeSummary {
  readonly kind: 'search' | 'certificate';
  readonly taps: readonly TensorVerdict[];
  /** The bisected output's metric value in this probe's run (for the tap perturbation). */
  readonly output: number;
}

export interface CulpritSearch {
  readonly culprit: { readonly node: string; readonly opType: string; readonly tensor: string; readonly metrics: Metrics };
  /** The culprit node's activation inputs; `metrics` null for those identical to the reference by construction. */
  readonly inputs: readonly { readonly tensor: string; readonly metrics: Metrics | null; readonly pass: boolean; readonly identical: boolean }[];
  readonly probes: readonly ProbeSummary[];
  readonly monotone: boolean;
  readonly certificate: Certificate;
  readonly candidates: number;
  readonly runBudget: number;
  /** With certificate `budget`: unmeasured candidates before the culprit that might hold the first failure. */
  readonly uncertain: readonly string[];
  /** Every tensor measured, with the latest metrics (a later round of fix may reuse them). */
  readonly observed: ReadonlyMap<string, Metrics>;
  readonly perturbation: TapPerturbation | null;
}

export interface LocateOptions {
  readonly prober: Prober;
  readonly plan: Plan;
  readonly output: string;
  /** The outputs' metrics in the run with no taps (already counted). */
  readonly baseline: ReadonlyMap<string, Metrics>;
  readonly criterion: Criterion;
  /** Metrics measured before that are still valid for this plan. */
  readonly known?: ReadonlyMap<string, Metrics>;
  /** A tensor to certify before searching (see BisectInit.suspect). */
  readonly suspect?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

/**
 * Drives the bisect state machine (analysis/bisect.ts) for one failing output under a plan: one
 * quant run per probe, compared with the float reference. The prober must already use the plan.
 */
export async function locateCulprit(options: LocateOptions): Promise<CulpritSearch> {
  const { prober, plan, output, criterion } = options;
  const { ctx } = prober;
  const onProgress = options.onProgress ?? silent;
  const outputMetrics = options.baseline.get(output) as Metrics;
  const candidates = bisectCandidates(ctx.graph, output, { isFloat: (t) => isFloatTensor(ctx, t), alters: altersUnder(ctx.graph, plan) });
  // The failing output always ends the list, even if the plan seems to leave it untouched.
  if (candidates[candidates.length - 1]?.tensor !== output) candidates.push({ tensor: output, inputs: [] });
  const known = new Map(options.known ?? []);
  const budget = bisectRunBudget(candidates.length);
  // The run with no taps is the first of the budget (DESIGN.md §8: ⌈log2 N⌉ + 2 quant runs).
  const search = new BisectSearch<Metrics>({
    // A suspect's certificate (fix's previous culprit) is one probe on top: a cleared suspect then leaves a whole search.
    candidates, outputResult: outputMetrics, passes: (m) => passes(m, criterion), known, suspect: options.suspect,
    maxProbes: budget - 1 + (options.suspect !== undefined ? 1 : 0),
  });
  const observed = new Map<string, Metrics>(known);
  observed.set(output, outputMetrics);
  const probes: ProbeSummary[] = [];
  const pairs: { output: string; withTaps: Metrics; withoutTaps: Metrics }[] = [];
  for (;;) {
    const step = search.next();
    if (step.done) {
      const o = step.outcome;
      const node = ctx.graph.producer.get(o.culprit) as GraphNode;
      const tested = new Map(o.inputs.map((i) => [i.tensor, i]));
      const canDiffer = new Set(candidates.map((c) => c.tensor));
      const inputs = [...new Set(node.inputs)].filter((t) => t !== '' && !ctx.graph.initializers.has(t) && isFloatTensor(ctx, t)).map((t) => {
        const r = tested.get(t);
        if (r) return { tensor: t, metrics: r.result, pass: r.pass, identical: false };
        if (!canDiffer.has(t)) return { tensor: t, metrics: null, pass: true, identical: true };
        // Not certified (the run budget ran out): what an earlier probe measured, if any.
        const m = observed.get(t) ?? null;
        return { tensor: t, metrics: m, pass: m !== null && passes(m, criterion), identical: false };
      });
      return {
        culprit: { node: node.name, opType: node.opType, tensor: o.culprit, metrics: o.culpritResult },
        inputs,
        probes,
        monotone: o.monotone,
        certificate: o.certificate,
        candidates: candidates.length,
        runBudget: budget,
        uncertain: o.uncertain,
        observed,
        perturbation: perturbationOf(criterion.metric, pairs),
      };
    }
    throwIfCancelled(options.signal);
    const probe = step.probe;
    const measured = await prober.measure(probe.taps);
    for (const [t, m] of measured.taps) observed.set(t, m);
    const outAfter = measured.outputs.get(output) as Metrics;
    pairs.push({ output, withTaps: outAfter, withoutTaps: outputMetrics });
    const verdicts = probe.taps.map((t) => prober.verdict(t, measured.taps.get(t) as Metrics, criterion));
    probes.push({ kind: probe.kind, taps: verdicts, output: metricValue(outAfter, criterion.metric) });
    const detail = verdicts.map((v) => `${displayName(v.tensor, 40)} ${v.pass ? 'pass' : 'FAIL'}`).join(', ');
    onProgress({ type: 'progress', stage: `bisect ${probe.kind}`, done: probes.length, total: Math.max(probes.length, budget - 1), detail });
    search.report(measured.taps);
  }
}

export interface BisectOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** The output to bisect; default the first failing one. */
  readonly output?: string;
  /** `--metric`, `--threshold`: when a tensor passes (default the gate of analysis/gate.ts). */
  readonly metric?: string;
  readonly threshold?: number;
  /** `--peak` of the outputs' PSNR; default max |x| of each float output. */
  readonly peak?: number;
  /**
   * The evaluation inputs (app/evaluation.ts); default the context's own. With several, the
   * outputs are measured on each (one quant run apiece) and bisect runs on the input where the
   * bisected output is worst.
   */
  readonly evaluation?: readonly ModelContext[];
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface BisectReport {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly profile: string;
  readonly metric: MetricName;
  readonly threshold: number;
  /** What the outputs must meet on top of the threshold (as in ComparisonReport). */
  readonly outputGoal: ComparisonReport['outputGoal'];
  /**
   * The SNR threshold the search used when the output's goal asks more than the threshold (the
   * SNR the output would need to meet it); null when the search used the threshold itself.
   */
  readonly searchThreshold: number | null;
  /** The bisected output (or, when every output passes, the first one). */
  readonly output: { readonly tensor: string; readonly metrics: Metrics; readonly pass: boolean };
  /** Every output in the run with no taps. */
  readonly outputs: readonly { readonly tensor: string; readonly metrics: Metrics; readonly pass: boolean }[];
  /** Null when the output passes (nothing to search). */
  readonly culprit: (CulpritSearch['culprit'] & { readonly precision: string }) | null;
  readonly inputs: CulpritSearch['inputs'];
  readonly probes: readonly ProbeSummary[];
  /** Quant runs, the first (no taps) included. */
  readonly quantRuns: number;
  readonly candidates: number;
  /** ⌈log2 candidates⌉ + 2. */
  readonly runBudget: number;
  /** With certificate `budget`: unmeasured tensors before the culprit that might hold the first failure. */
  readonly uncertain: readonly string[];
  readonly monotone: boolean;
  readonly certificate: Certificate | null;
  readonly perturbation: TapPerturbation | null;
  /** Set when the evaluation input is also a calibration input: one sentence saying so. */
  readonly inSample: string | null;
  /**
   * Over several evaluation inputs: each input's outputs (no taps), the input bisected (the worst
   * for the bisected output) and the quant runs spent measuring the inputs, apart from quantRuns.
   */
  readonly evaluation: {
    readonly inputs: readonly string[];
    readonly outputs: readonly (readonly { readonly tensor: string; readonly metrics: Metrics; readonly pass: boolean }[])[];
    readonly bisected: number;
    readonly runs: number;
  } | null;
  /** What the advisor (analysis/advisor.ts) makes of it: causes and what to do. */
  readonly findings: readonly Finding[];
}

/** How far an output is from passing, in dB (positive: failing by that much). */
function shortfallDb(m: Metrics, criterion: Criterion): number {
  if (m.nonFiniteIntroduced > 0) return Infinity;
  const own = -marginDb(criterion.metric, metricValue(m, criterion.metric), criterion.threshold);
  return criterion.outputs ? Math.max(own, -bindingCondition(m, criterion.outputs).margin) : own;
}

/** Each evaluation input's outputs (one quant run each, one input at a time) and the input to bisect: where the output fares worst. */
async function measureInputs(
  inputs: readonly ModelContext[], quant: QuantSetup, criterion: Criterion, output: string | undefined, onProgress: ProgressListener, signal?: AbortSignal,
): Promise<NonNullable<BisectReport['evaluation']>> {
  const measured: { tensor: string; metrics: Metrics; pass: boolean }[][] = [];
  let runs = 0;
  for (const [k, c] of inputs.entries()) {
    throwIfCancelled(signal);
    onProgress({ type: 'progress', stage: 'bisect inputs', done: k, total: inputs.length, detail: c.sources.map((s) => s.source).join(', ') });
    const prober = await Prober.create(c, quant);
    try {
      await prober.usePlan(quant.plan);
      const baseline = (await prober.measure([])).outputs;
      measured.push(prober.outputs.map((t) => prober.verdict(t, baseline.get(t) as Metrics, criterion)).map((v) => ({ tensor: v.tensor, metrics: v.metrics, pass: v.pass })));
      runs += prober.quantRuns;
    } finally {
      await prober.dispose();
    }
  }
  const badness = (k: number): number => Math.max(...measured[k].filter((o) => output === undefined || o.tensor === output).map((o) => shortfallDb(o.metrics, criterion)));
  const bisected = measured.reduce((w, _, k) => (badness(k) > badness(w) ? k : w), 0);
  return { inputs: inputs.map((c) => c.sources.map((s) => s.source).join(', ')), outputs: measured, bisected, runs };
}

/**
 * Checks the options that need no quant run (the output name, the metric and threshold), so a
 * caller can refuse them before calibrating; returns the criterion.
 */
export function checkBisectOptions(ctx: ModelContext, options: Pick<BisectOptions, 'output' | 'metric' | 'threshold' | 'peak'>): Criterion {
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  const outputs = ctx.graph.outputs.map((o) => o.name);
  if (options.output !== undefined && !outputs.includes(options.output)) {
    throw new UserError(`--output '${displayName(options.output)}' is not a graph output; the outputs are ${outputs.map((o) => `'${displayName(o)}'`).join(', ')}.`);
  }
  return criterion;
}

/**
 * Bisect (DESIGN.md §5): measures the outputs in a quant run with no taps; if the chosen output
 * fails, finds the earliest failing tensor among its ancestors, one tap per probe, and certifies
 * it on its direct inputs.
 */
export async function bisect(options: BisectOptions): Promise<BisectReport> {
  const { quant } = options;
  const criterion = checkBisectOptions(options.ctx, options);
  const outputs = options.ctx.graph.outputs.map((o) => o.name);
  const onProgress = options.onProgress ?? silent;
  const inputs = options.evaluation && options.evaluation.length > 0 ? options.evaluation : [options.ctx];
  const evaluation = inputs.length > 1 ? await measureInputs(inputs, quant, criterion, options.output, onProgress, options.signal) : null;
  const ctx = inputs[evaluation?.bisected ?? 0];
  onProgress({ type: 'stage', stage: 'bisect', detail: `measuring the outputs under ${quant.profile.name} (${criterion.metric} threshold ${criterion.threshold})` });
  const prober = await Prober.create(ctx, quant);
  try {
    await prober.usePlan(quant.plan);
    const baseline = (await prober.measure([])).outputs;
    const verdicts = outputs.map((t) => prober.verdict(t, baseline.get(t) as Metrics, criterion));
    const chosen = verdicts.find((v) => v.tensor === options.output) ?? verdicts.find((v) => !v.pass) ?? verdicts[0];
    const base = {
      schemaVersion: 1 as const,
      model: ctx.modelName,
      profile: quant.profile.name,
      metric: criterion.metric,
      threshold: criterion.threshold,
      outputGoal: outputGoalOf(criterion),
      output: { tensor: chosen.tensor, metrics: chosen.metrics, pass: chosen.pass },
      outputs: verdicts.map((v) => ({ tensor: v.tensor, metrics: v.metrics, pass: v.pass })),
      inSample: inSampleWarning(inputs, quant.calibration, inputs.length <= 1),
      evaluation,
    };
    const advised = (report: Omit<BisectReport, 'findings'>): BisectReport => ({ ...report, findings: adviseBisect(report, { graph: adviceGraph(ctx.graph, ctx.values, quant.plan) }) });
    if (chosen.pass) {
      return advised({ ...base, searchThreshold: null, culprit: null, inputs: [], probes: [], quantRuns: prober.quantRuns, candidates: 0, runBudget: 0, uncertain: [], monotone: true, certificate: null, perturbation: null });
    }
    const search = searchCriterion(criterion, chosen.metrics);
    const found = await locateCulprit({ prober, plan: quant.plan, output: chosen.tensor, baseline, criterion: search, onProgress, signal: options.signal });
    return advised({
      ...base,
      searchThreshold: search.threshold !== criterion.threshold ? search.threshold : null,
      culprit: { ...found.culprit, precision: quant.plan.precision.get(found.culprit.node) ?? quant.profile.floatOps },
      inputs: found.inputs,
      probes: found.probes,
      quantRuns: prober.quantRuns,
      candidates: found.candidates,
      runBudget: found.runBudget,
      uncertain: found.uncertain,
      monotone: found.monotone,
      certificate: found.certificate,
      perturbation: found.perturbation,
    });
  } finally {
    await prober.dispose();
  }
}
