import type { ComparisonReport } from '../analysis/comparison.js';
import { higherIsBetter, metricValue, type MetricName } from '../analysis/metrics-target.js';
import { depthChart, type DepthChart } from './depth-chart.js';
import { formatMetric, METRIC_LABELS } from './format.js';

/**
 * The results screen's chart: `metric` of every row in row order, the report's threshold drawn
 * when `metric` is its gate metric, error metrics on a log scale, the x axis labelled with the
 * rows' indices as in the table.
 */
export function resultsChart(
  report: ComparisonReport,
  metric: MetricName,
  view: { readonly cursor: number; readonly zoom: number },
  size: { readonly width: number; readonly height: number },
): DepthChart {
  return depthChart({
    values: report.rows.map((r) => (r.metrics ? metricValue(r.metrics, metric) : null)),
    fails: report.rows.map((r) => !r.pass),
    indices: report.rows.map((r) => r.index),
    cursor: view.cursor,
    zoom: view.zoom,
    threshold: report.metric === metric ? report.threshold : null,
    higherIsBetter: higherIsBetter(metric),
    log: !higherIsBetter(metric),
    format: (v) => formatMetric(metric, v),
    label: METRIC_LABELS[metric],
    width: size.width,
    height: size.height,
  });
}
