import { higherIsBetter, type MetricName } from '../../analysis/metrics-target.js';
import type { Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import type { Graph, GraphNode } from '../../core/graph.js';
import { fusionGroups, groupByNode } from '../../quant/fusion.js';
import type { Plan } from '../../quant/plan.js';
import type { PrecisionChange, Region } from '../../quant/promotion-regions.js';
import type { Comparison, CulpritRegion, RegionNode } from './session-jobs.js';

/** The pieces the probe rows and result views of bisect and fix share: conditions, reasons, regions. */

/** `≥` for the metrics where higher is better, `≤` for the errors. */
export function comparisonOf(metric: MetricName): Comparison {
  return higherIsBetter(metric) ? '≥' : '≤';
}

/**
 * Why a measured tensor's value is not the whole story, or missing: NaN/Inf where the float
 * model's values are finite (the tensor fails whatever its metric says), or a NaN metric.
 * Undefined when the value speaks for itself.
 */
export function probeReason(m: Metrics | null, value: number | null): string | undefined {
  if (m === null || value === null) return 'not measured';
  if (m.nonFiniteIntroduced > 0) return `${m.nonFiniteIntroduced} NaN/Inf value(s) where the float model's are finite`;
  if (Number.isNaN(value)) return 'the metric is NaN (no finite values to compare)';
  return undefined;
}

export function regionNodes(changes: readonly PrecisionChange[]): RegionNode[] {
  return changes.map((c) => ({ node: c.node, opType: c.opType, from: c.from, to: c.to }));
}

const named = (n: { node: string; opType: string }): string => `${displayName(n.node, 40)} (${n.opType})`;

/**
 * The culprit's kernel under the plan (its fusion group, as the device runs it with no taps) and
 * what the region promotionRegion chose for it promotes, with a sentence for the screen.
 */
export function culpritRegion(graph: Graph, plan: Plan, culprit: GraphNode, region: Region | null): CulpritRegion {
  const group = groupByNode(fusionGroups(graph, plan)).get(culprit.name);
  const fused = group
    ? group.nodes.map((node, i) => ({ node, opType: group.opTypes[i] }))
    : [{ node: culprit.name, opType: culprit.opType }];
  const others = fused.filter((n) => n.node !== culprit.name);
  const promotes = regionNodes(region?.changes ?? []);
  const head = `culprit ${named({ node: culprit.name, opType: culprit.opType })}${others.length > 0 ? ` is fused with ${others.map(named).join(', ')}` : ' runs as a kernel of its own'}`;
  const list = promotes.map((c) => `${named(c)} ${c.from}→${c.to}`).join(', ');
  const reason = region === null ? 'none' : region.reason === 'culprit' ? 'culprit' : 'producers';
  const tail =
    reason === 'none'
      ? 'nothing upstream of it can be promoted any more'
      : reason === 'producers'
        ? `its kernel has nothing to promote, so the plan promotes the kernels that feed it: ${list}`
        : others.length > 0
          ? `the plan promotes the fused region: ${list}`
          : `the plan promotes ${list}`;
  return { fused, reason, promotes, text: `${head}; ${tail}` };
}
