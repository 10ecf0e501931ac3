import { higherIsBetter, metricValue, type MetricName } from '../analysis/metrics-target.js';
import type { RowDiff } from '../analysis/report-diff.js';
import { displayName } from '../core/closest.js';
import { formatMetric } from './format.js';
import type { RunRecord, UiState } from './state.js';

/** The runs the diff shows: the baseline (default the first run) and the run under the cursor. */
export function runPair(state: UiState): { baseline: RunRecord; run: RunRecord } | null {
  const run = state.runs[state.views.runs.cursor];
  const baseline = state.runs.find((r) => r.id === (state.baseline ?? state.runs[0]?.id));
  return run && baseline ? { baseline, run } : null;
}

/** One run in the list: how many tensors fail, and the deepest tensor's value in the metric shown. */
export function runLine(run: RunRecord, metric: MetricName): string {
  const r = run.report;
  const failing = r.rows.filter((x) => !x.pass).length;
  const last = r.rows.at(-1);
  const value = last?.metrics ? formatMetric(metric, metricValue(last.metrics, metric)) : '—';
  return `${failing} of ${r.rows.length} fail · last ${displayName(last?.tensor ?? '—', 24)} ${metric} ${value}`;
}

/** A diff row's cells: tensor, both values, the change with its sign, and an arrow. */
export function diffCells(d: RowDiff, metric: MetricName): { tensor: string; a: string; b: string; change: string; mark: string } {
  const change = d.change === null ? '—' : d.change === 0 ? '0' : `${d.change > 0 ? '+' : '−'}${formatMetric(metric, Math.abs(d.change))}`;
  const mark = d.in !== 'both' ? `only ${d.in}` : d.direction === 'better' ? '▲ better' : d.direction === 'worse' ? '▼ worse' : '';
  return { tensor: displayName(d.tensor), a: formatMetric(metric, d.a), b: formatMetric(metric, d.b), change, mark };
}

/** The words for the metric's good direction, for the diff's title. */
export function betterWord(metric: MetricName): string {
  return higherIsBetter(metric) ? 'higher is better' : 'lower is better';
}
