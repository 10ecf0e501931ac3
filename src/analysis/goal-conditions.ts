import { conditionValue, marginDb, type Goal } from './gate.js';
import type { MetricName } from './metrics-target.js';
import type { Metrics } from './metrics-types.js';

/** One condition of a goal over several tensors: its worst value, and how far that is from the threshold. */
export interface ConditionState {
  readonly metric: MetricName;
  readonly op: '>=' | '<=';
  readonly threshold: number;
  /** The worst tensor's value (PSNR at the goal's peak); NaN when a tensor's value is NaN; null with no tensors. */
  readonly value: number | null;
  /** The worst tensor's margin in dB (analysis/gate.ts marginDb); −∞ when a tensor has NaN/Inf introduced or a NaN value. */
  readonly margin: number;
  readonly holds: boolean;
}

/**
 * Each condition of the goal on the tensor where it is furthest from holding (the smallest
 * margin; the first such tensor on ties). A tensor with NaN/Inf introduced has a margin of −∞ on
 * every condition (it fails the goal whatever its values), as bindingCondition counts it.
 */
export function goalConditions(metrics: readonly Metrics[], goal: Goal): ConditionState[] {
  return goal.targets.map((t) => {
    let value: number | null = null;
    let margin = Infinity;
    for (const m of metrics) {
      const v = conditionValue(m, t, goal.peak);
      const g = m.nonFiniteIntroduced > 0 ? -Infinity : marginDb(t.metric, v, t.value);
      if (value === null || g < margin) {
        value = v;
        margin = g;
      }
    }
    return { metric: t.metric, op: t.op, threshold: t.value, value, margin, holds: value !== null && margin >= 0 };
  });
}

/** The condition furthest from holding (the first on ties); null for a goal without conditions. */
export function bindingState(conditions: readonly ConditionState[]): ConditionState | null {
  return conditions.reduce<ConditionState | null>((w, c) => (w === null || c.margin < w.margin ? c : w), null);
}
