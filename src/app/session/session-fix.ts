import { bindingCondition, conditionValue, parseGoal } from '../../analysis/gate.js';
import { bindingState, type ConditionState } from '../../analysis/goal-conditions.js';
import { metricValue } from '../../analysis/metrics-target.js';
import { displayName } from '../../core/closest.js';
import type { Override } from '../../quant/plan.js';
import type { Region } from '../../quant/promotion-regions.js';
import type { ProgressEvent } from '../events.js';
import type { LocateOptions, ProbeSummary } from '../bisect/bisect.js';
import type { Criterion } from '../compare/compare-report.js';
import { fix, regionLabel, type FixReport, type FixStepEvent } from '../fix.js';
import type { ModelContext } from '../context.js';
import type { QuantSetup } from '../quant-setup.js';
import { comparisonOf, probeReason, regionNodes } from './probe-views.js';
import type { FixView, JobEvent, ProbeView } from './session-jobs.js';

export interface SessionFixOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  readonly target?: string;
  readonly peak?: number;
  readonly evaluation?: readonly ModelContext[];
  readonly maxMemory?: number;
  readonly onEvent: (event: JobEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * Fix for the TUI: `fix` from app/fix.ts as the CLI runs it (its plan file is written too), with
 * its steps turned into probe rows as they happen (fixRows): each evaluation of a plan, each
 * bisect probe, and each promotion with the region it promoted and the outputs before and after.
 */
export async function fixForSession(options: SessionFixOptions): Promise<FixView> {
  const rows = fixRows((probe) => options.onEvent({ type: 'probe', probe }));
  const report = await fix({
    ctx: options.ctx,
    quant: options.quant,
    evaluation: options.evaluation,
    target: options.target,
    peak: options.peak,
    maxMemory: options.maxMemory,
    onProgress: (event: ProgressEvent) => options.onEvent(event),
    onStep: rows.onStep,
    onProbe: rows.onProbe,
    signal: options.signal,
  });
  return fixView(report);
}

function keyOf(regions: readonly Region[]): string {
  return JSON.stringify(regions.map((r) => r.key).sort());
}

/**
 * The probe rows of a fix, from its steps (app/fix.ts FixStepEvent) and its bisect probes:
 * - an evaluation: the target's condition furthest from holding on the worst output, its
 *   threshold, and whether the whole target is met;
 * - a bisect probe: each tapped tensor at the SNR the round's search holds tensors to;
 * - a promotion: the region (node names and precisions) and the outputs before → after it, in
 *   the metric of the condition furthest from holding before it. The row waits for the
 *   evaluation of the promoted set when the round did not score it already, and then comes just
 *   before that evaluation's row.
 */
export function fixRows(emit: (probe: ProbeView) => void): {
  onStep: (step: FixStepEvent) => void;
  onProbe: NonNullable<LocateOptions['onProbe']>;
} {
  let step = 0;
  let round = 1;
  const seen = new Map<string, readonly ConditionState[]>();
  let pending: { readonly key: string; readonly make: (after: readonly ConditionState[]) => ProbeView } | null = null;
  const range = (): string => `round ${round}`;

  const promotion =
    (
      e: Extract<FixStepEvent, { kind: 'round' }>,
      region: Region,
      before: readonly ConditionState[] | undefined,
      at: number,
      where: string,
    ) =>
    (after: readonly ConditionState[]): ProbeView => {
      const binding = bindingState(before ?? after);
      const metric = binding?.metric ?? 'snrDb';
      const b = before?.find((c) => c.metric === metric) ?? null;
      const a = after.find((c) => c.metric === metric) ?? null;
      const reason = a?.value === null || a === null ? 'the outputs were not measured after it' : undefined;
      return {
        step: at,
        range: where,
        tensor: regionLabel(region),
        node: e.culprit.node,
        opType: 'promote',
        kind: 'promote',
        metric,
        value: a?.value ?? null,
        before: b?.value ?? null,
        threshold: binding?.threshold ?? Number.NaN,
        comparison: comparisonOf(metric),
        pass: a ? a.holds : null,
        ...(reason ? { reason } : {}),
        note: `culprit ${displayName(e.culprit.node, 40)} (${e.culprit.opType})`,
        region: regionNodes(region.changes),
      };
    };

  const onStep = (e: FixStepEvent): void => {
    if (e.kind === 'round') {
      step += 1;
      const where = range();
      round += 1;
      if (e.region === null) {
        const now = bindingState(seen.get(keyOf(e.before)) ?? []);
        const metric = now?.metric ?? 'snrDb';
        emit({
          step,
          range: where,
          tensor: `culprit ${displayName(e.culprit.node, 40)}`,
          node: e.culprit.node,
          opType: 'promote',
          kind: 'promote',
          metric,
          value: null,
          before: now?.value ?? null,
          threshold: now?.threshold ?? Number.NaN,
          comparison: comparisonOf(metric),
          pass: null,
          reason: 'nothing left to promote for it',
          note: `culprit ${displayName(e.culprit.node, 40)} (${e.culprit.opType})`,
        });
        return;
      }
      const key = keyOf([...e.before, e.region]);
      const make = promotion(e, e.region, seen.get(keyOf(e.before)), step, where);
      const after = seen.get(key);
      if (after) emit(make(after));
      else pending = { key, make };
      return;
    }
    const key = keyOf(e.promoted);
    seen.set(key, e.conditions);
    if (pending && pending.key === key) {
      emit(pending.make(e.conditions));
      pending = null;
    }
    step += 1;
    const binding = bindingState(e.conditions);
    const metric = binding?.metric ?? 'snrDb';
    const reason =
      binding === null || binding.value === null
        ? 'no output was measured'
        : binding.margin === -Infinity && !Number.isNaN(binding.value)
          ? 'an output has NaN/Inf where the float model is finite'
          : undefined;
    emit({
      step,
      range: range(),
      tensor: `${e.purpose}: ${e.label}`,
      node: '',
      opType: 'evaluate',
      kind: 'evaluate',
      metric,
      value: binding?.value ?? null,
      threshold: binding?.threshold ?? Number.NaN,
      comparison: comparisonOf(metric),
      pass: e.met,
      ...(reason ? { reason } : {}),
      ...(e.subject ? { region: regionNodes(e.subject.changes) } : {}),
    });
  };

  const onProbe = (probe: ProbeSummary, criterion: Criterion): void => {
    step += 1;
    probe.taps.forEach((v, k) => {
      const value = metricValue(v.metrics, criterion.metric);
      const reason = probeReason(v.metrics, value);
      emit({
        step,
        range: range(),
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
        note: probe.kind === 'certificate' ? (k === probe.taps.length - 1 ? 'culprit' : 'input') : undefined,
      });
    });
  };
  return { onStep, onProbe };
}

export function fixView(report: FixReport): FixView {
  const goal = parseGoal(report.target, '--target', report.peak);
  const overrides: Override[] = report.regions.flatMap((r) => r.changes.map((c) => [c.node, c.to] as const));
  const stop = {
    met: 'target met',
    budget: 'promotion budget spent',
    'nothing-to-promote': 'nothing left to promote',
    unreachable: `out of reach: everything promoted gives ${report.reachable === null ? '?' : `${report.reachableMetric ?? ''} ${String(Number(report.reachable.toPrecision(4)))}`}`,
  }[report.stop];
  // The outputs in the metric of the condition furthest from holding on the worst of them.
  const bindings = report.outputs.map((o) => bindingCondition(o.metrics, goal));
  const metric = bindings.reduce(
    (w, b) => (b.margin < w.margin ? b : w),
    bindings[0] ?? { metric: goal.targets[0].metric, margin: Infinity },
  ).metric;
  return {
    metric,
    goal: report.target,
    reached: report.met,
    overrides,
    promoted: report.promoted,
    macShare: report.cost.macShareAboveInt8,
    weightShare: report.cost.weightShareAboveInt8,
    outputs: report.outputs.map((o) => ({
      tensor: o.tensor,
      value: conditionValue(o.metrics, { metric, op: '>=', value: 0 }, report.peak),
      pass: o.pass,
    })),
    summary: `${stop} after ${report.quantRuns} quant runs; ${report.pruned.length} region(s) pruned${report.lowered.length > 0 ? `, ${report.lowered.length} lowered to a16w8` : ''}; plan file ${displayName(report.plan)}`,
  };
}
