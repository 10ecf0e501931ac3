import { bindingCondition, conditionValue, parseGoal } from '../../analysis/gate.js';
import { displayName } from '../../core/closest.js';
import type { Override } from '../../quant/plan.js';
import type { ProgressEvent } from '../events.js';
import { DEFAULT_TARGET, fix, type FixReport } from '../fix.js';
import type { ModelContext } from '../context.js';
import type { QuantSetup } from '../quant-setup.js';
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
 * its progress turned into probe rows as they happen: each evaluation of a plan (from its log
 * line: purpose, target met or missed) and each bisect probe (from its progress line: tensor and
 * verdict). Their metric values are in the final report, shown when fix ends.
 */
export async function fixForSession(options: SessionFixOptions): Promise<FixView> {
  const goal = parseGoal(options.target ?? DEFAULT_TARGET, '--target', options.peak ?? null);
  let step = 0;
  let round = 1;
  const probe = (p: Omit<ProbeView, 'step' | 'metric' | 'range'>): void => {
    step += 1;
    options.onEvent({ type: 'probe', probe: { ...p, step, metric: goal.targets[0].metric, range: `round ${round}` } });
  };
  const onProgress = (event: ProgressEvent): void => {
    options.onEvent(event);
    if (event.type === 'progress' && event.stage.startsWith('bisect') && event.detail) {
      const kind = event.stage.slice('bisect'.length).trim();
      for (const item of event.detail.split(', ')) {
        const verdict = /\s(pass|FAIL)$/.exec(item);
        probe({
          tensor: verdict ? item.slice(0, verdict.index) : item,
          node: '',
          opType: kind === 'certificate' ? 'certify' : 'probe',
          value: null,
          pass: verdict ? verdict[1] === 'pass' : null,
        });
      }
    } else if (event.type === 'log' && event.level === 'info') {
      const evaluation = /^(baseline|promotion|sensitivity|prune): (.*): target (met|missed) \((.*)\)$/.exec(event.message);
      if (evaluation) {
        const value = Number(evaluation[4].split(' ').pop());
        probe({
          tensor: `${evaluation[1]}: ${evaluation[2]}`,
          node: '',
          opType: 'evaluate',
          value: Number.isNaN(value) ? null : value,
          pass: evaluation[3] === 'met',
        });
      } else if (event.message.startsWith('bisect: culprit')) {
        probe({ tensor: event.message.slice('bisect: '.length), node: '', opType: 'promote', value: null, pass: null });
        round += 1;
      }
    }
  };
  const report = await fix({
    ctx: options.ctx,
    quant: options.quant,
    evaluation: options.evaluation,
    target: options.target,
    peak: options.peak,
    maxMemory: options.maxMemory,
    onProgress,
    signal: options.signal,
  });
  return fixView(report);
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
