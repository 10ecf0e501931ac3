import { bisectCandidates, type BisectCandidate } from '../../analysis/bisect.js';
import { metricValue, type Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import type { Graph } from '../../core/graph.js';
import type { Override, Plan } from '../../quant/plan.js';
import {
  altersUnder,
  isFloatTensor,
  locateCulprit,
  measureInputs,
  passes,
  Prober,
  type CulpritSearch,
  type LocateOptions,
  type ProbeSummary,
} from '../bisect/bisect.js';
import { criterionOf, outputGoalOf, passesCriterion, searchCriterion, type Criterion } from '../compare/compare-report.js';
import { criterionText } from '../../present/report-cells.js';
import { planMemoryUse } from '../memory-plan.js';
import type { ModelContext } from '../context.js';
import { measuredMetrics } from '../bisect/prober.js';
import { silent, type ProgressListener } from '../events.js';
import { promotionRegion } from '../fix.js';
import type { QuantSetup } from '../quant-setup.js';
import type { BisectCounts, BisectView, MeasuredTensor, ProbeView } from './session-jobs.js';
import { comparisonOf, culpritRegion, probeReason } from './probe-views.js';

export interface SessionBisectOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  readonly metric?: string;
  readonly threshold?: number;
  readonly peak?: number;
  /** Evaluation inputs: with several, bisect runs on the one where the output is worst. */
  readonly evaluation?: readonly ModelContext[];
  readonly maxMemory?: number;
  readonly onProgress?: ProgressListener;
  /** Called once per probe, as soon as its run is measured. */
  readonly onProbe: (probe: ProbeView) => void;
  readonly signal?: AbortSignal;
}

/**
 * Bisect for the TUI: the same search as `quantscope bisect` (the first failing output, measured
 * with no taps, then locateCulprit from app/bisect/bisect.ts), reporting every probe's metrics as
 * it is measured, so the screen shows each probe live with its value, the condition it was held
 * to and the range of candidates still in play. The result names the culprit's fused region and
 * offers the promotion fix would apply to it, with its counts named for what they count.
 */
export async function bisectForSession(options: SessionBisectOptions): Promise<BisectView> {
  const { quant } = options;
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  for (const c of [options.ctx, ...(options.evaluation ?? [])]) planMemoryUse(c, 'probe', options.maxMemory);
  // The evaluation inputs, as compare and fix take them: one of them is the input bisect runs on.
  const inputs = options.evaluation && options.evaluation.length > 0 ? options.evaluation : [options.ctx];
  const measured =
    inputs.length > 1
      ? await measureInputs(inputs, quant, criterion, undefined, options.onProgress ?? silent, options.signal, options.maxMemory)
      : null;
  const ctx = inputs[measured?.bisected ?? 0];
  const evaluationRuns = measured?.runs ?? 0;
  options.onProgress?.({ type: 'stage', stage: 'bisect', detail: `measuring the outputs under ${quant.profile.name}` });
  const prober = await Prober.create(ctx, quant, options.maxMemory);
  try {
    await prober.usePlan(quant.plan);
    const baseline = (await prober.measure([])).outputs;
    const outputs = prober.outputs.map((t) => ({ tensor: t, metrics: measuredMetrics(baseline, t) }));
    const failing = outputs.find((o) => !passesCriterion(o.metrics, criterion, true));
    if (!failing) {
      const first = outputs[0];
      const counts: BisectCounts = { listed: 0, probeRuns: 0, quantRuns: prober.quantRuns, evaluationRuns, candidates: 0, runBudget: 0 };
      return {
        metric: criterion.metric,
        threshold: criterion.threshold,
        comparison: comparisonOf(criterion.metric),
        culprit: null,
        probes: 0,
        counts,
        region: null,
        perturbation: null,
        suggested: [],
        inputs: [],
        output: { tensor: first.tensor, value: metricValue(first.metrics, criterion.metric), pass: true },
        summary: `every output meets ${criterionText({ ...criterion, outputGoal: outputGoalOf(criterion) })}; nothing to bisect (${runsText(counts)})`,
      };
    }
    const candidates = bisectCandidates(ctx.graph, failing.tensor, {
      isFloat: (t) => isFloatTensor(ctx, t),
      alters: altersUnder(ctx.graph, quant.plan),
    });
    // Along the graph: scale-free SNR at what the failing output needs (app/compare/compare-report.ts searchCriterion).
    const search = searchCriterion(criterion, failing.metrics);
    const observer = probeObserver(ctx.graph, candidates, options.onProbe);
    const found = await locateCulprit({
      prober,
      plan: quant.plan,
      output: failing.tensor,
      baseline,
      criterion: search,
      onProgress: options.onProgress,
      onProbe: observer.onProbe,
      signal: options.signal,
    });
    const counts: BisectCounts = {
      listed: observer.listed(),
      probeRuns: found.probes.length,
      quantRuns: prober.quantRuns,
      evaluationRuns,
      candidates: found.candidates,
      runBudget: found.runBudget,
    };
    const view = bisectView(ctx, quant.plan, search, found, counts);
    if (search.metric === criterion.metric && search.threshold === criterion.threshold) return view;
    // The probes are held to what the failing output needs, not to the gate itself: say so, with both numbers.
    const op = comparisonOf(search.metric);
    const searchNote = `probes are held to ${search.metric} ${op} ${Number(search.threshold.toPrecision(4))}: what '${displayName(failing.tensor, 40)}' needs along the graph to meet ${criterionText({ ...criterion, outputGoal: outputGoalOf(criterion) })}`;
    return { ...view, searchNote };
  } finally {
    await prober.dispose();
  }
}

/**
 * Turns each probe locateCulprit reports into rows, one per tapped tensor: the candidates still in
 * play when it was chosen (from the earliest failing tensor observed back to just after the latest
 * passing one before it), each tensor's metric, the condition it was judged by, and its verdict.
 */
function probeObserver(
  graph: Graph,
  candidates: readonly BisectCandidate[],
  onRow: (p: ProbeView) => void,
): { onProbe: NonNullable<LocateOptions['onProbe']>; listed: () => number } {
  const order = new Map(candidates.map((c, i) => [c.tensor, i]));
  const verdicts = new Map<number, boolean>([[candidates.length - 1, false]]);
  let step = 0;
  let listed = 0;
  const onProbe = (probe: ProbeSummary, criterion: Criterion): void => {
    step += 1;
    const certificate = probe.kind === 'certificate';
    const range = certificate ? 'certify' : rangeText(graph, candidates, verdicts);
    probe.taps.forEach((v, k) => {
      const value = metricValue(v.metrics, criterion.metric);
      const at = order.get(v.tensor);
      if (at !== undefined) verdicts.set(at, v.pass);
      listed += 1;
      const reason = probeReason(v.metrics, value);
      onRow({
        step,
        range,
        tensor: v.tensor,
        node: v.node,
        opType: v.opType || 'input',
        kind: probe.kind,
        metric: criterion.metric,
        value,
        threshold: criterion.threshold,
        comparison: comparisonOf(criterion.metric),
        pass: v.pass,
        ...(reason ? { reason } : {}),
        note: certificate ? (k === probe.taps.length - 1 ? 'culprit' : 'input') : undefined,
      });
    });
  };
  return { onProbe, listed: () => listed };
}

function rangeText(graph: Graph, candidates: readonly BisectCandidate[], verdicts: ReadonlyMap<number, boolean>): string {
  let hi = candidates.length - 1;
  for (const [i, pass] of verdicts) if (!pass && i < hi) hi = i;
  let lo = 0;
  for (const [i, pass] of verdicts) if (pass && i < hi && i + 1 > lo) lo = i + 1;
  const index = (i: number): string => String(graph.producer.get(candidates[i].tensor)?.index ?? '?');
  return `${index(lo)}..${index(hi)}`;
}

/**
 * The counts in words, the same numbers the view carries: `8 probes listed from 7 probe runs; 8
 * quant runs (the run without taps included), budget 8 for 39 candidates`.
 */
export function runsText(c: BisectCounts): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const evaluation = c.evaluationRuns > 0 ? `; ${plural(c.evaluationRuns, 'more run')} to choose the worst evaluation input` : '';
  if (c.probeRuns === 0) return `no probes; ${plural(c.quantRuns, 'quant run')} without taps${evaluation}`;
  const budget = c.runBudget > 0 ? `, budget ${c.runBudget} for ${plural(c.candidates, 'candidate')}` : '';
  return `${plural(c.listed, 'probe')} listed from ${plural(c.probeRuns, 'probe run')}; ${plural(c.quantRuns, 'quant run')} (the run without taps included)${budget}${evaluation}`;
}

function bisectView(ctx: ModelContext, plan: Plan, criterion: Criterion, found: CulpritSearch, counts: BisectCounts): BisectView {
  const value = (m: Metrics): number => metricValue(m, criterion.metric);
  const node = ctx.graph.nodes.find((n) => n.name === found.culprit.node);
  const promoted = node ? promotionRegion(ctx.graph, plan, node) : null;
  const suggested: Override[] = promoted ? promoted.changes.map((c) => [c.node, c.to] as const) : [];
  const inputs: MeasuredTensor[] = found.inputs.flatMap((i) =>
    !i.identical && i.metrics ? [{ tensor: i.tensor, value: value(i.metrics), pass: i.pass }] : [],
  );
  const certificate = {
    'inputs-pass': 'certified: its inputs pass and it fails',
    'inputs-identical': 'certified: its inputs cannot differ from the reference',
    'culprit-passed': 'uncertain: it passes once its inputs are tapped too',
    budget: `not certified: the run budget ran out${found.uncertain.length > 0 ? ` (${found.uncertain.length} earlier tensor(s) unmeasured)` : ''}`,
  }[found.certificate];
  const monotone = found.monotone ? '' : '; the error was not monotone, so the search went on upstream';
  return {
    metric: criterion.metric,
    threshold: criterion.threshold,
    comparison: comparisonOf(criterion.metric),
    culprit: { node: found.culprit.node, opType: found.culprit.opType, tensor: found.culprit.tensor },
    output: { tensor: found.culprit.tensor, value: value(found.culprit.metrics), pass: passes(found.culprit.metrics, criterion) },
    inputs,
    probes: counts.listed,
    counts,
    region: node ? culpritRegion(ctx.graph, plan, node, promoted) : null,
    perturbation: found.perturbation,
    summary: `${displayName(found.culprit.node, 60)} ${certificate}${monotone}; ${runsText(counts)}`,
    suggested,
  };
}
