import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { metricValue, type MetricName } from '../analysis/metrics-target.js';
import { displayName } from '../core/closest.js';
import type { GraphNode } from '../core/graph.js';
import type { InferredValue } from '../analysis/shape-context.js';
import type { Plan } from '../quant/plan.js';
import type { Precision } from '../quant/profile.js';
import { formatMetric, formatShape } from './format.js';
import type { Status } from './theme.js';

/** One graph-screen row as text, ready to render. */
export interface GraphRowView {
  readonly index: number;
  readonly opType: string;
  /** Escaped for the terminal. */
  readonly name: string;
  readonly shape: string;
  readonly precision: Precision | undefined;
  /** The precision differs from the profile's default (the plan overrides it). */
  readonly edited: boolean;
  readonly tapped: boolean;
  readonly metricText: string;
  readonly status: Status;
}

/** Comparison rows keyed by tensor name. */
export function rowsByTensor(report: ComparisonReport | null): ReadonlyMap<string, ComparisonRow> {
  return new Map((report?.rows ?? []).map((r) => [r.tensor, r]));
}

export interface GraphRowInputs {
  readonly plan: Plan;
  readonly basePlan: Plan;
  readonly taps: ReadonlySet<string>;
  readonly results: ReadonlyMap<string, ComparisonRow>;
  readonly metric: MetricName;
  readonly values: ReadonlyMap<string, InferredValue>;
}

/**
 * The row of a node: its first output's shape, its planned precision, whether any output is
 * tapped, and the last comparison of its first compared output (tapped outputs first).
 */
export function graphRowView(node: GraphNode, inputs: GraphRowInputs): GraphRowView {
  const outs = node.outputs.filter((o) => o !== '');
  const tapped = outs.some((o) => inputs.taps.has(o));
  const compared = outs
    .filter((o) => inputs.taps.has(o))
    .concat(outs)
    .map((o) => inputs.results.get(o))
    .find((r) => r !== undefined);
  const precision = inputs.plan.precision.get(node.name);
  let metricText = '';
  let status: Status = 'none';
  if (compared) {
    metricText = compared.metrics ? formatMetric(inputs.metric, metricValue(compared.metrics, inputs.metric)) : 'error';
    status = compared.pass ? 'pass' : 'fail';
  }
  return {
    index: node.index,
    opType: node.opType,
    name: displayName(node.name),
    shape: formatShape(outs.length > 0 ? inputs.values.get(outs[0])?.shape : undefined),
    precision,
    edited: precision !== inputs.basePlan.precision.get(node.name),
    tapped,
    metricText,
    status,
  };
}
