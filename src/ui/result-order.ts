import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { higherIsBetter, metricValue, type MetricName } from '../analysis/metrics-target.js';
import type { SortColumn } from './state.js';

/** The sort columns in the order `o` cycles through them, with the header's words for each. */
export const SORT_COLUMNS: readonly { readonly column: SortColumn; readonly label: string }[] = [
  { column: 'depth', label: 'depth' },
  { column: 'accumulated', label: 'accumulated error' },
  { column: 'own', label: 'own error' },
  { column: 'name', label: 'name' },
  { column: 'op', label: 'op type' },
];

/**
 * A row's error in the shown metric as a number where larger is worse, so "worst first" is one
 * order for every metric. Rows without a value sort last.
 */
function badness(row: ComparisonRow, metric: MetricName, side: 'accumulated' | 'own'): number {
  const m = side === 'accumulated' ? row.metrics : row.own;
  if (!m) return Number.NEGATIVE_INFINITY;
  const v = metricValue(m, metric);
  if (Number.isNaN(v)) return Number.POSITIVE_INFINITY; // NaN: the worst there is
  return higherIsBetter(metric) ? -v : v;
}

/**
 * The display order of the results table: indices into `report.rows`. Depth is the report's own
 * (topological) order; the error columns put the worst first (descending flips every column);
 * ties keep depth order.
 */
export function resultOrder(
  report: ComparisonReport,
  sort: { readonly column: SortColumn; readonly descending: boolean },
  metric: MetricName,
): number[] {
  const indices = report.rows.map((_, i) => i);
  const rows = report.rows;
  const compare = (a: number, b: number): number => {
    switch (sort.column) {
      case 'depth':
        return a - b;
      case 'accumulated':
      case 'own': {
        const x = badness(rows[a], metric, sort.column);
        const y = badness(rows[b], metric, sort.column);
        return x === y ? 0 : x > y ? -1 : 1;
      }
      case 'name':
        return rows[a].tensor < rows[b].tensor ? -1 : rows[a].tensor > rows[b].tensor ? 1 : 0;
      case 'op':
        return rows[a].opType < rows[b].opType ? -1 : rows[a].opType > rows[b].opType ? 1 : 0;
    }
  };
  const sorted = indices.sort((a, b) => compare(a, b) || a - b);
  return sort.descending ? sorted.reverse() : sorted;
}

/** Where report row `row` sits in the display order (0 when absent). */
export function positionOf(order: readonly number[], row: number): number {
  const at = order.indexOf(row);
  return at < 0 ? 0 : at;
}

/** The report row shown at display position `position` (the identity before any sort). */
export function rowAt(order: readonly number[], position: number): number {
  return order[position] ?? position;
}
