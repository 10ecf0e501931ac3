import { adviseBisect, type Finding } from '../../analysis/advisor.js';
import { type Certificate } from '../../analysis/bisect.js';
import { type ComparisonReport, type TapPerturbation } from '../../analysis/comparison.js';
import { metricValue, type MetricName, type Metrics } from '../../analysis/metrics.js';
import { bindingCondition, marginDb } from '../../analysis/gate.js';
import { displayName } from '../../core/closest.js';
import { UserError } from '../../core/errors.js';
import { criterionOf, outputGoalOf, searchCriterion, type Criterion } from '../compare/compare-report.js';
import { type ModelContext } from '../context.js';
import { adviceGraph } from '../compare/compare-advice.js';
import { silent, throwIfCancelled, type ProgressListener } from '../events.js';
import type { QuantSetup } from '../quant-setup.js';
import { inSampleWarning } from '../evaluation.js';

export { Prober, altersUnder, isFloatTensor, passes, type TensorVerdict } from './prober.js';
export { locateCulprit, type CulpritSearch, type LocateOptions, type ProbeSummary } from './locate.js';
import { measuredMetrics, Prober } from './prober.js';
import { planMemoryUse } from '../memory-plan.js';
import { locateCulprit, type CulpritSearch, type ProbeSummary } from './locate.js';

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
  /** `--max-memory`: the memory rule of the probes (app/memory-plan.ts) and the prober's float cache. */
  readonly maxMemory?: number;
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
export async function measureInputs(
  inputs: readonly ModelContext[],
  quant: QuantSetup,
  criterion: Criterion,
  output: string | undefined,
  onProgress: ProgressListener,
  signal?: AbortSignal,
  maxMemory?: number,
): Promise<NonNullable<BisectReport['evaluation']>> {
  const measured: { tensor: string; metrics: Metrics; pass: boolean }[][] = [];
  let runs = 0;
  for (const [k, c] of inputs.entries()) {
    throwIfCancelled(signal);
    onProgress({
      type: 'progress',
      stage: 'bisect inputs',
      done: k,
      total: inputs.length,
      detail: c.sources.map((s) => s.source).join(', '),
    });
    const prober = await Prober.create(c, quant, maxMemory);
    try {
      await prober.usePlan(quant.plan);
      const baseline = (await prober.measure([])).outputs;
      measured.push(
        prober.outputs
          .map((t) => prober.verdict(t, measuredMetrics(baseline, t), criterion))
          .map((v) => ({ tensor: v.tensor, metrics: v.metrics, pass: v.pass })),
      );
      runs += prober.quantRuns;
    } finally {
      await prober.dispose();
    }
  }
  const badness = (k: number): number =>
    Math.max(...measured[k].filter((o) => output === undefined || o.tensor === output).map((o) => shortfallDb(o.metrics, criterion)));
  const bisected = measured.reduce((w, _, k) => (badness(k) > badness(w) ? k : w), 0);
  return { inputs: inputs.map((c) => c.sources.map((s) => s.source).join(', ')), outputs: measured, bisected, runs };
}

/**
 * Checks the options that need no quant run (the output name, the metric and threshold, and the
 * memory rule of the probes on every input), so a caller can refuse them before calibrating;
 * returns the criterion.
 */
export function checkBisectOptions(
  ctx: ModelContext,
  options: Pick<BisectOptions, 'output' | 'metric' | 'threshold' | 'peak' | 'maxMemory' | 'evaluation'>,
): Criterion {
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  for (const c of [ctx, ...(options.evaluation ?? [])]) planMemoryUse(c, 'probe', options.maxMemory);
  const outputs = ctx.graph.outputs.map((o) => o.name);
  if (options.output !== undefined && !outputs.includes(options.output)) {
    throw new UserError(
      `--output '${displayName(options.output)}' is not a graph output; the outputs are ${outputs.map((o) => `'${displayName(o)}'`).join(', ')}.`,
    );
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
  const evaluation =
    inputs.length > 1 ? await measureInputs(inputs, quant, criterion, options.output, onProgress, options.signal, options.maxMemory) : null;
  const ctx = inputs[evaluation?.bisected ?? 0];
  onProgress({
    type: 'stage',
    stage: 'bisect',
    detail: `measuring the outputs under ${quant.profile.name} (${criterion.metric} threshold ${criterion.threshold})`,
  });
  const prober = await Prober.create(ctx, quant, options.maxMemory);
  try {
    await prober.usePlan(quant.plan);
    const baseline = (await prober.measure([])).outputs;
    const verdicts = outputs.map((t) => prober.verdict(t, measuredMetrics(baseline, t), criterion));
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
    const advised = (report: Omit<BisectReport, 'findings'>): BisectReport => ({
      ...report,
      findings: adviseBisect(report, { graph: adviceGraph(ctx.graph, ctx.values, quant.plan) }),
    });
    if (chosen.pass) {
      return advised({
        ...base,
        searchThreshold: null,
        culprit: null,
        inputs: [],
        probes: [],
        quantRuns: prober.quantRuns,
        candidates: 0,
        runBudget: 0,
        uncertain: [],
        monotone: true,
        certificate: null,
        perturbation: null,
      });
    }
    const search = searchCriterion(criterion, chosen.metrics);
    const found = await locateCulprit({
      prober,
      plan: quant.plan,
      output: chosen.tensor,
      baseline,
      criterion: search,
      onProgress,
      signal: options.signal,
    });
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
