import { dirname } from 'node:path';
import { adviseFix } from '../analysis/advisor.js';
import { FixSearch, type Evaluation, type FixOutcome } from '../analysis/fix-search.js';
import { goalConditions } from '../analysis/goal-conditions.js';
import { bindingCondition, DEFAULT_TENSOR_SNR_DB, formatGoal, meetsGoal, type Binding, type Goal } from '../analysis/gate.js';
import { formatMetric, higherIsBetter, type Metrics } from '../analysis/metrics.js';
import { displayName } from '../core/closest.js';
import { InternalError, required } from '../core/errors.js';
import type { Graph, GraphNode } from '../core/graph.js';
import { planCost, promotionCost } from '../quant/cost.js';
import { writePlanFile } from '../store/plan-file.js';
import { planToFile, type Plan } from '../quant/plan.js';
import {
  candidateRegions,
  ceilingRegion,
  cheaperRegion,
  planWith,
  regionLabel,
  sensitivityRegions,
  type Region,
} from '../quant/promotion-regions.js';
import { locateCulprit, Prober, type CulpritSearch } from './bisect/bisect.js';
import { measuredMetrics } from './bisect/prober.js';
import type { ModelContext } from './context.js';
import { searchSnrDb, type Criterion } from './compare/compare-report.js';
import { adviceGraph } from './compare/compare-advice.js';
import { emitModel, type EmitResult } from './emit/emit.js';
import { refuseUnrunnableNames } from './emit/emit-names.js';
import { silent, throwIfCancelled } from './events.js';
import { inSampleInputs, inSampleWarning } from './evaluation.js';
import { makeDirectory } from '../store/directories.js';
import { planMemoryUse } from './memory-plan.js';
import { checkFixOptions, defaultPlanFile, type FixOptions } from './fix-options.js';
import type { FixReport, FixRound, InputResult, OutputResult } from './fix-report.js';

export { checkFixOptions, defaultPlanFile, DEFAULT_MAX_PROMOTIONS, DEFAULT_TARGET, type FixOptions } from './fix-options.js';
export type { EmittedFiles, FixReport, FixRound, FixStepEvent, InputResult, OutputResult } from './fix-report.js';

// The region rules live in quant/promotion-regions.ts; re-exported for the commands, the UI and tests.
export {
  candidateRegions,
  ceilingRegion,
  cheaperRegion,
  planWith,
  promotionRegion,
  regionLabel,
  sensitivityRegions,
  type PrecisionChange,
  type Region,
} from '../quant/promotion-regions.js';

/**
 * How good the outputs are, higher is better: for a one-condition target the worst output's
 * metric, oriented; for several conditions the worst margin in dB (analysis/gate.ts). NaN/Inf
 * introduced is −∞.
 */
function scoreOf(outputs: readonly OutputResult[], goal: Goal): number {
  let score = Infinity;
  for (const o of outputs) {
    const b = bindingCondition(o.metrics, goal);
    const v = goal.targets.length > 1 || !Number.isFinite(b.margin) ? b.margin : higherIsBetter(b.metric) ? b.value : -b.value;
    score = Math.min(score, Number.isNaN(v) ? -Infinity : v);
  }
  return score;
}

/** The worst output's binding condition (see scoreOf). */
function worstBinding(outputs: readonly OutputResult[], goal: Goal): Binding | null {
  let worst: Binding | null = null;
  for (const o of outputs) {
    const b = bindingCondition(o.metrics, goal);
    if (worst === null || b.margin < worst.margin) worst = b;
  }
  return worst;
}

/**
 * Fix (DESIGN.md §5): drives the fix state machine (analysis/fix-search.ts). Each evaluation is
 * one quant run with no taps; each locate bisects the first failing output under the current plan
 * (reusing the measurements of tensors no promotion has touched since) and applies
 * promotionRegion to the culprit. The final plan is written as a plan file, and emitted and
 * verified when asked.
 */
export async function fix(options: FixOptions): Promise<FixReport> {
  const started = Date.now();
  const { ctx, quant } = options;
  const graph = ctx.graph;
  const { goal, maxPromotions } = checkFixOptions(options);
  const strategy = options.strategy ?? 'bisect';
  const planOut = options.planOut ?? defaultPlanFile(ctx.modelName, options.emit);
  const onProgress = options.onProgress ?? silent;
  // Where the plan goes, before the search: a directory that cannot be made fails now, not after it.
  makeDirectory(dirname(planOut) || '.', "The plan file's directory");
  // And a model that cannot be emitted fails now too.
  if (options.emit !== undefined || options.emitDir !== undefined) refuseUnrunnableNames(graph, ctx.loaded.path);
  const regions = strategy === 'sensitivity' ? sensitivityRegions(graph, quant.plan) : undefined;
  const ceiling = ceilingRegion(graph, quant.plan) ?? undefined;
  const shapes = knownShapes(ctx);
  // MACs moved above INT8, or with a profile cost table the device cost a promotion adds.
  const macsOf = (r: Region): number => promotionCost(graph, quant.plan, r.changes, shapes);
  // The ceiling's parts for a descent: every kernel's promotion, cheapest first (pruned dearest first).
  // Only under the default budget: a budget the user set is kept to.
  const ceilingParts =
    options.maxPromotions === undefined ? [...sensitivityRegions(graph, quant.plan)].sort((a, b) => macsOf(a) - macsOf(b)) : [];
  // The score at which the target holds: a margin of 0 dB, or the one condition's value oriented.
  const only = goal.targets.length === 1 ? goal.targets[0] : null;
  const targetScore = only === null ? 0 : higherIsBetter(only.metric) ? only.value : -only.value;
  const search = new FixSearch<Region>({
    strategy,
    maxPromotions,
    regions,
    ceiling,
    ceilingParts,
    targetScore,
    cheaper: (r) => cheaperRegion(quant.plan, r),
  });
  const evaluated = new Map<
    string,
    {
      plan: Plan;
      outputs: OutputResult[];
      perInput: OutputResult[][];
      metrics: Map<string, Metrics>;
      worstInput: number;
      binding: Binding | null;
    }
  >();
  const rounds: FixRound[] = [];
  let known = new Map<string, Metrics>();
  let currentKey: string | null = null;
  const evaluation = options.evaluation && options.evaluation.length > 0 ? options.evaluation : [ctx];
  const inputNames = evaluation.map((c) => c.sources.map((s) => s.source).join(', '));
  const probers: Prober[] = [];
  /** The evaluation input the last bisect ran on: its measurements are the ones `known` holds. */
  let knownInput = -1;
  let outcome: FixOutcome<Region>;
  try {
    for (const c of evaluation) planMemoryUse(c, 'probe', options.maxMemory);
    for (const c of evaluation) probers.push(await Prober.create(c, quant, options.maxMemory));
    const evaluate = async (promoted: readonly Region[]): Promise<Evaluation> => {
      const plan = planWith(graph, quant.plan, promoted);
      const perInput: OutputResult[][] = [];
      const metricsPerInput: Map<string, Metrics>[] = [];
      for (const prober of probers) {
        throwIfCancelled(options.signal);
        await prober.usePlan(plan);
        const metrics = (await prober.measure([])).outputs;
        metricsPerInput.push(metrics);
        perInput.push(
          prober.outputs.map((t) => {
            const m = measuredMetrics(metrics, t);
            return { tensor: t, metrics: m, pass: meetsGoal(m, goal) };
          }),
        );
      }
      const scores = perInput.map((outputs) => scoreOf(outputs, goal));
      const worstInput = scores.reduce((w, s, i) => (s < scores[w] ? i : w), 0);
      // Each output on the input where it is worst.
      const outputs = perInput[0].map((_, k) =>
        perInput.map((o) => o[k]).reduce((w, o) => (scoreOf([o], goal) < scoreOf([w], goal) ? o : w)),
      );
      currentKey = keyOf(promoted);
      evaluated.set(currentKey, {
        plan,
        outputs,
        perInput,
        metrics: metricsPerInput[worstInput],
        worstInput,
        binding: worstBinding(outputs, goal),
      });
      return { met: perInput.every((o) => o.every((x) => x.pass)), score: scores[worstInput] };
    };

    /** The round whose candidates are being scored: closed once the search has chosen. */
    let open: { found: CulpritSearch; node: GraphNode; candidates: readonly Region[]; before: readonly Region[] } | null = null;
    const closeRound = (): void => {
      if (!open) return;
      const { found, node, candidates, before } = open;
      const chosen = search.lastChoice();
      rounds.push({
        culprit: found.culprit,
        monotone: found.monotone,
        certificate: found.certificate,
        probes: found.probes.length,
        region: chosen,
        candidates: candidates.length,
      });
      onProgress({
        type: 'log',
        level: 'info',
        message: `bisect: culprit ${displayName(node.name, 60)} (${node.opType}); ${chosen ? `promoting ${chosen.changes.map((c) => `${displayName(c.node, 40)} ${c.from}→${c.to}`).join(', ')}${candidates.length > 1 ? ` (best of ${candidates.length} candidates)` : ''}` : 'nothing left to promote'}`,
      });
      options.onStep?.({
        kind: 'round',
        culprit: { node: node.name, opType: node.opType },
        region: chosen,
        candidates: candidates.length,
        before,
      });
      known = chosen ? untouched(graph, found.observed, chosen) : new Map(found.observed);
      open = null;
    };

    onProgress({
      type: 'stage',
      stage: 'fix',
      detail: `target ${formatGoal(goal)}, strategy ${strategy}, at most ${maxPromotions} promotion(s)`,
    });
    for (;;) {
      throwIfCancelled(options.signal);
      const step = search.next();
      if (!(step.kind === 'evaluate' && step.purpose === 'candidate')) closeRound();
      if (step.kind === 'done') {
        outcome = step.outcome;
        break;
      }
      if (step.kind === 'evaluate') {
        const e = await evaluate(step.promoted);
        const subject = step.subject ? regionLabel(step.subject) : '';
        const what =
          step.purpose === 'sensitivity'
            ? `all but ${subject} promoted`
            : step.purpose === 'prune'
              ? step.subject && step.promoted.some((r) => r.key === step.subject?.key)
                ? `${subject} lowered to a16w8`
                : `without ${subject}`
              : step.purpose === 'candidate'
                ? `with ${subject} added to ${step.promoted.length - 1} region(s)`
                : step.purpose === 'reachable'
                  ? 'everything promoted (quantized ops INT16, float ops FP32)'
                  : `${step.promoted.length} region(s) promoted`;
        const state = evaluated.get(keyOf(step.promoted));
        onProgress({
          type: 'log',
          level: 'info',
          message: `${step.purpose}: ${what}: ${e.met ? 'target met' : 'target missed'} (${bindingText(state?.binding ?? null)})`,
        });
        options.onStep?.({
          kind: 'evaluation',
          purpose: step.purpose,
          label: what,
          subject: step.subject ?? null,
          promoted: step.promoted,
          met: e.met,
          conditions: goalConditions(
            (state?.outputs ?? []).map((o) => o.metrics),
            goal,
          ),
        });
        search.reportEvaluation(e);
        continue;
      }
      // locate: the last evaluation was of this very set, and the prober still runs its plan.
      const key = keyOf(step.promoted);
      const state = evaluated.get(key);
      if (!state) {
        await evaluate(step.promoted);
      } else if (currentKey !== key) {
        // Measured already (the reachable run came in between): only the backends' plan changes.
        for (const p of probers) await p.usePlan(state.plan);
        currentKey = key;
      }
      const { plan, outputs, perInput, metrics, worstInput } = required(
        evaluated.get(key),
        'fix located a culprit on a plan it never evaluated',
      );
      const prober = probers[worstInput];
      if (knownInput !== worstInput) known = new Map();
      knownInput = worstInput;
      // An output that fails on the input bisect runs on (each output's worst may be elsewhere).
      const failing = required(
        perInput[worstInput].find((o) => !o.pass) ?? outputs.find((o) => !o.pass),
        'fix was asked to locate a culprit on a plan that meets the target',
      );
      const suspect = rounds.length > 0 ? rounds[rounds.length - 1].culprit.tensor : undefined;
      const criterion = locateCriterion(failing.metrics, goal);
      const found = await locateCulprit({
        prober,
        plan,
        output: failing.tensor,
        baseline: metrics,
        criterion,
        known,
        suspect,
        onProgress,
        onProbe: options.onProbe,
        signal: options.signal,
      });
      const node = graphNode(graph, found.culprit.node);
      const candidates = candidateRegions(graph, plan, node, knownShapes(ctx));
      open = { found, node, candidates, before: step.promoted };
      search.reportCandidates(candidates);
    }
  } finally {
    for (const p of probers) await p.dispose();
  }
  return finish(
    outcome,
    probers.reduce((n, p) => n + p.quantRuns, 0),
  );

  async function finish(outcome: FixOutcome<Region>, quantRuns: number): Promise<FixReport> {
    // Every set the search saw was evaluated here, the final one included.
    const final = evaluated.get(keyOf(outcome.promoted));
    if (!final) throw new InternalError('fix ended on a plan it never evaluated');
    const plan = final.plan;
    const start = evaluated.get(keyOf([]));
    const before = start?.outputs ?? [];
    const perInput = (results: readonly OutputResult[][] | undefined): InputResult[] =>
      (results ?? []).map((outputs, i) => ({ input: inputNames[i], outputs }));
    const overrides = plan.overrides;
    makeDirectory(dirname(planOut) || '.', "The plan file's directory");
    writePlanFile(planOut, planToFile(plan));
    const cost = planCost(graph, plan, knownShapes(ctx));
    const ceilingKey = ceiling ? keyOf([ceiling]) : null;
    const reachable = outcome.reachable && ceilingKey ? (evaluated.get(ceilingKey)?.binding ?? null) : null;
    let emitted: FixReport['emitted'] = null;
    if (options.emit !== undefined || options.emitDir !== undefined) {
      const result: EmitResult = await emitModel({
        ctx,
        setup: { ...quant, plan },
        evaluation,
        out: options.emit,
        outDir: options.emitDir,
        onProgress,
        signal: options.signal,
      });
      emitted = {
        model: result.paths.model,
        quant: result.paths.quant,
        manifest: result.paths.manifest,
        verifiedNodes: result.verification.precision.nodes.length,
        outputsIdentical: result.verification.outputs.every((o) => o.identical),
      };
    }
    const report: Omit<FixReport, 'findings'> = {
      schemaVersion: 1,
      model: ctx.modelName,
      profile: quant.profile.name,
      strategy,
      target: formatGoal(goal),
      peak: goal.peak,
      met: outcome.met,
      stop: outcome.stop,
      descended: outcome.descended,
      reachable: reachable ? reachable.value : null,
      reachableMetric: reachable ? reachable.metric : null,
      promoted: outcome.promoted.flatMap((r) => r.changes.map((c) => c.node)),
      regions: outcome.promoted,
      pruned: outcome.pruned,
      lowered: outcome.lowered,
      outputs: final.outputs,
      before,
      evaluation: {
        inputs: inputNames,
        before: perInput(start?.perInput),
        after: perInput(final.perInput),
        inSample: inSampleInputs(evaluation, quant.calibration),
        warning: inSampleWarning(evaluation, quant.calibration),
      },
      cost,
      quantRuns,
      seconds: (Date.now() - started) / 1000,
      rounds,
      ranking: outcome.ranking.map((r) => ({
        region: r.region.culprit,
        value: goal.targets.length === 1 && !higherIsBetter(goal.targets[0].metric) ? -r.score : r.score,
      })),
      plan: planOut,
      overrides,
      emitted,
    };
    return { ...report, findings: adviseFix(report, { graph: adviceGraph(graph, ctx.values, plan) }) };
  }
}

/**
 * What fix's bisect holds tensors to: scale-free SNR, at the target's own SNR condition (else the
 * default gate's 30 dB), or at what the failing output needs when it passes that and misses the
 * rest of the target (app/compare/compare-report.ts searchSnrDb). Measured against searching in the
 * binding condition's own metric (PSNR at each tensor's own peak): the demo model 7 regions and
 * 51% of MACs against 10 and 95%; candy (fish_720, calibrated on cat and dog, `psnrDb>=45`) the
 * same 13 convolutions in 88 quant runs against 53; udnie (fish_720, calibrated on cat, dog and
 * hummingbird, `psnrDb>=45`, 16 promotions) 71% of MACs against 37%: neither wins everywhere,
 * and SNR is the criterion whose verdicts mean the same on every tensor.
 */
function locateCriterion(output: Metrics, goal: Goal): Criterion {
  const floor = goal.targets.find((t) => t.metric === 'snrDb')?.value ?? DEFAULT_TENSOR_SNR_DB;
  return { metric: 'snrDb', threshold: searchSnrDb(floor, output, goal), outputs: null };
}

function bindingText(b: Binding | null): string {
  return b ? `${b.metric} ${formatMetric(b.metric, b.value)}` : '-';
}

function keyOf(regions: readonly Region[]): string {
  return JSON.stringify(regions.map((r) => r.key).sort());
}

/** The measurements still valid after promoting a region: tensors that depend on none of its nodes. */
function untouched(graph: Graph, observed: ReadonlyMap<string, Metrics>, region: Region): Map<string, Metrics> {
  const changed = new Set(region.changes.map((c) => c.node));
  const tainted = new Set<string>();
  for (const node of graph.nodes) {
    if (changed.has(node.name) || node.inputs.some((t) => tainted.has(t))) for (const t of node.outputs) tainted.add(t);
  }
  return new Map([...observed].filter(([t]) => !tainted.has(t)));
}

/** The graph's node of a name that quantscope itself took from the graph (a region's change, bisect's culprit). */
function graphNode(graph: Graph, name: string): GraphNode {
  const node = graph.nodes.find((n) => n.name === name);
  if (!node) throw new InternalError(`fix names the node '${displayName(name)}', which the graph does not hold`);
  return node;
}

function knownShapes(ctx: ModelContext): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  for (const [name, v] of ctx.values) if (v.shape && v.shape.every((d) => typeof d === 'number')) shapes.set(name, v.shape);
  return shapes;
}
