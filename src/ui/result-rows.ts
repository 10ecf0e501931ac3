import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { higherIsBetter, metricValue, type MetricName } from '../analysis/metrics-target.js';
import { displayName } from '../core/closest.js';
import { formatAgainst, formatMetric } from './format.js';
import type { Status } from './theme.js';

/** One results-table row as text. */
export interface ResultRowView {
  readonly index: number;
  readonly tensor: string;
  readonly opType: string;
  /** Accumulated error in the shown metric. */
  readonly accumulated: string;
  /** Own error in the shown metric ('—' when not measured). */
  readonly own: string;
  readonly verdict: string;
  readonly status: Status;
  readonly firstFailing: boolean;
}

export function resultRowView(row: ComparisonRow, report: ComparisonReport, metric: MetricName): ResultRowView {
  return {
    index: row.index,
    // The producing node beside the tensor when its name does not already say it (`/conv1/Conv_output_0` does).
    tensor:
      row.node === '' || row.tensor.startsWith(row.node)
        ? displayName(row.tensor)
        : `${displayName(row.tensor)} ← ${displayName(row.node)}`,
    opType: row.opType || 'input',
    // In the gate's metric, never rounded onto the wrong side of the threshold.
    accumulated: row.metrics
      ? metric === report.metric
        ? formatAgainst(metric, metricValue(row.metrics, metric), report.threshold)
        : formatMetric(metric, metricValue(row.metrics, metric))
      : 'error',
    own: row.own ? formatMetric(metric, metricValue(row.own, metric)) : '—',
    verdict: row.verdict ?? '',
    status: row.pass ? 'pass' : 'fail',
    firstFailing: report.firstFailing === row.tensor,
  };
}

/** The two summary lines above the table: verdicts, then what the taps changed and what INT16 reaches. */
export function reportSummary(report: ComparisonReport): [string, string] {
  const failing = report.rows.filter((r) => !r.pass).length;
  const op = higherIsBetter(report.metric) ? '≥' : '≤';
  const parts = [`${failing} of ${report.rows.length} fail ${report.metric} ${op} ${report.threshold}`];
  if (report.firstFailing !== null) {
    const row = report.rows.find((r) => r.tensor === report.firstFailing);
    parts.push(`first ${displayName(report.firstFailing, 40)}${row ? ` #${row.index}` : ''}`);
  }
  if (report.worstSource !== null) parts.push(`worst source ${displayName(report.worstSource, 30)}`);
  const second: string[] = [];
  // First, so that 80 columns never cut it: these numbers were measured on a calibration input.
  if (report.inSample) second.push('IN-SAMPLE: calibrated on this input');
  if (report.perturbation) {
    const p = report.perturbation;
    second.push(`taps moved ${displayName(p.output, 24)} ${formatMetric(p.metric, p.withoutTaps)} → ${formatMetric(p.metric, p.withTaps)}`);
  } else {
    second.push('taps moved no output');
  }
  if (report.achievable) second.push(`${report.achievable.label} reaches ${formatMetric(report.metric, report.achievable.value)}`);
  return [parts.join(' · '), second.join(' · ')];
}
