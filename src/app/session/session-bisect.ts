import { bisectCandidates, type BisectCandidate } from '../../analysis/bisect.js';
import { metricValue, type Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import type { Graph } from '../../core/graph.js';
import type { Override, Plan } from '../../quant/plan.js';
import { altersUnder, isFloatTensor, locateCulprit, measureInputs, passes, Prober, type CulpritSearch } from '../bisect/bisect.js';
import { criterionOf, outputGoalOf, passesCriterion, searchCriterion, type Criterion } from '../compare/compare-report.js';
import { criterionText } from '../../present/report-cells.js';
import { planMemoryUse } from '../memory-plan.js';
import type { ModelContext } from '../context.js';
import { measuredMetrics } from '../bisect/prober.js';
import { silent, type ProgressListener } from '../events.js';
import { promotionRegion } from '../fix.js';
import type { QuantSetup } from '../quant-setup.js';
import type { BisectView, MeasuredTensor, ProbeView } from './session-jobs.js';

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
 * with no taps, then locateCulprit from app/bisect/bisect.ts), with a prober that reports every probe's
 * metrics as it is measured, so the screen shows each probe live with its value and the range of
 * candidates still in play. The result offers the promotion fix would apply to the culprit.
 */
export async function bisectForSession(options: SessionBisectOptions): Promise<BisectView> {
  const { quant } = options;
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  for (const c of [options.ctx, ...(options.evaluation ?? [])]) planMemoryUse(c, 'probe', options.maxMemory);
  const inputs = options.evaluation && options.evaluation.length > 1 ? options.evaluation : [options.ctx];
  const worst =
    inputs.length > 1
      ? (await measureInputs(inputs, quant, criterion, undefined, options.onProgress ?? silent, options.signal, options.maxMemory)).bisected
      : 0;
  const ctx = inputs[worst];
  options.onProgress?.({ type: 'stage', stage: 'bisect', detail: `measuring the outputs under ${quant.profile.name}` });
  const prober = await Prober.create(ctx, quant, options.maxMemory);
  try {
    await prober.usePlan(quant.plan);
    const baseline = (await prober.measure([])).outputs;
    const outputs = prober.outputs.map((t) => ({ tensor: t, metrics: measuredMetrics(baseline, t) }));
    const failing = outputs.find((o) => !passesCriterion(o.metrics, criterion, true));
    if (!failing) {
      const first = outputs[0];
      return {
        metric: criterion.metric,
        threshold: criterion.threshold,
        culprit: null,
        probes: 0,
        perturbation: null,
        suggested: [],
        inputs: [],
        output: { tensor: first.tensor, value: metricValue(first.metrics, criterion.metric), pass: true },
        summary: `every output meets ${criterionText({ ...criterion, outputGoal: outputGoalOf(criterion) })}; nothing to bisect`,
      };
    }
    const candidates = bisectCandidates(ctx.graph, failing.tensor, {
      isFloat: (t) => isFloatTensor(ctx, t),
      alters: altersUnder(ctx.graph, quant.plan),
    });
    // Along the graph: scale-free SNR at what the failing output needs (app/compare/compare-report.ts searchCriterion).
    const search = searchCriterion(criterion, failing.metrics);
    const observer = observingProber(prober, ctx.graph, candidates, search, options.onProbe);
    const found = await locateCulprit({
      prober: observer,
      plan: quant.plan,
      output: failing.tensor,
      baseline,
      criterion: search,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    return bisectView(ctx, quant.plan, search, found, prober.quantRuns);
  } finally {
    await prober.dispose();
  }
}

/**
 * The prober seen through a Proxy whose `measure` also reports the probe: the candidates still
 * in play (from the earliest failing tensor observed back to just after the latest passing one
 * before it, as the search narrows them) and each tapped tensor's metric and verdict.
 */
function observingProber(
  prober: Prober,
  graph: Graph,
  candidates: readonly BisectCandidate[],
  criterion: Criterion,
  onProbe: (p: ProbeView) => void,
): Prober {
  const order = new Map(candidates.map((c, i) => [c.tensor, i]));
  const verdicts = new Map<number, boolean>([[candidates.length - 1, false]]);
  let step = 0;
  const measure = async (taps: readonly string[]): ReturnType<Prober['measure']> => {
    const certificate = taps.length > 1;
    const range = certificate ? 'certify' : rangeText(graph, candidates, verdicts);
    const result = await prober.measure(taps);
    if (taps.length === 0) return result;
    step += 1;
    for (const t of taps) {
      const m = measuredMetrics(result.taps, t);
      const pass = passes(m, criterion);
      const at = order.get(t);
      if (at !== undefined) verdicts.set(at, pass);
      const node = graph.producer.get(t);
      onProbe({
        step,
        range,
        tensor: t,
        node: node?.name ?? '',
        opType: node?.opType ?? 'input',
        metric: criterion.metric,
        value: metricValue(m, criterion.metric),
        pass,
        note: certificate ? (t === taps[taps.length - 1] ? 'culprit' : 'input') : undefined,
      });
    }
    return result;
  };
  return new Proxy(prober, {
    get(target, prop) {
      if (prop === 'measure') return measure;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function rangeText(graph: Graph, candidates: readonly BisectCandidate[], verdicts: ReadonlyMap<number, boolean>): string {
  let hi = candidates.length - 1;
  for (const [i, pass] of verdicts) if (!pass && i < hi) hi = i;
  let lo = 0;
  for (const [i, pass] of verdicts) if (pass && i < hi && i + 1 > lo) lo = i + 1;
  const index = (i: number): string => String(graph.producer.get(candidates[i].tensor)?.index ?? '?');
  return `${index(lo)}..${index(hi)}`;
}

function bisectView(ctx: ModelContext, plan: Plan, criterion: Criterion, found: CulpritSearch, quantRuns: number): BisectView {
  const value = (m: Metrics): number => metricValue(m, criterion.metric);
  const node = ctx.graph.nodes.find((n) => n.name === found.culprit.node);
  const region = node ? promotionRegion(ctx.graph, plan, node) : null;
  const suggested: Override[] = region ? region.changes.map((c) => [c.node, c.to] as const) : [];
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
    culprit: { node: found.culprit.node, opType: found.culprit.opType, tensor: found.culprit.tensor },
    output: { tensor: found.culprit.tensor, value: value(found.culprit.metrics), pass: passes(found.culprit.metrics, criterion) },
    inputs,
    probes: found.probes.length,
    perturbation: found.perturbation,
    summary: `${displayName(found.culprit.node, 60)} ${certificate}${monotone}; ${quantRuns} quant runs for ${found.candidates} candidates (budget ${found.runBudget})`,
    suggested,
  };
}
