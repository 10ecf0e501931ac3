import type { ComparisonReport, ComparisonRow } from './comparison.js';
import { higherIsBetter, metricValue, type MetricName } from './metrics-target.js';

/**
 * Two comparison runs side by side (the TUI's run diff): the rows paired by tensor name, each
 * with both values of one metric and the change between them.
 *
 * The change is b − a in the metric's better direction (positive = better): b − a for cosine, SNR
 * and PSNR, a − b for the errors. Edge cases, so that a change is never a NaN that sorts
 * anywhere:
 * - a value is null when the row has no metrics in that run, NaN when the metric itself is NaN;
 *   a pair with either side null or NaN has change null;
 * - +Inf (SNR of identical tensors, "exact") against a finite value is an infinite change;
 *   +Inf against +Inf (and −Inf against −Inf) is no change (0).
 * Direction: 'better' or 'worse' by the sign of the change; when the change is null, a row that
 * passes in b and failed in a is better, the reverse worse, else unchanged. A change of 0 is
 * unchanged even when the two runs judged it by different thresholds.
 * Rows in one run only are listed with `in` saying which, and counted apart from the others.
 */

export type DiffDirection = 'better' | 'worse' | 'unchanged';

export interface RowDiff {
  readonly tensor: string;
  readonly node: string;
  readonly opType: string;
  /** The metric's value in a and in b; null when that run has no metrics for the tensor. */
  readonly a: number | null;
  readonly b: number | null;
  /** b against a in the metric's better direction (positive = better); null when either side has no finite-comparable value. */
  readonly change: number | null;
  /** Whether the row passes in a and in b; null when that run lacks the tensor. */
  readonly passA: boolean | null;
  readonly passB: boolean | null;
  readonly direction: DiffDirection;
  /** Which runs hold the tensor. */
  readonly in: 'both' | 'a' | 'b';
}

export interface ReportDiff {
  readonly metric: MetricName;
  /** Rows of a in a's order, then the tensors only b holds, in b's order. */
  readonly rows: readonly RowDiff[];
  readonly onlyInA: readonly string[];
  readonly onlyInB: readonly string[];
  readonly totals: {
    readonly improved: number;
    readonly worse: number;
    readonly unchanged: number;
    readonly onlyInA: number;
    readonly onlyInB: number;
  };
}

function valueOf(row: ComparisonRow | undefined, metric: MetricName): number | null {
  return row?.metrics ? metricValue(row.metrics, metric) : null;
}

/** b against a in the metric's better direction; null when a change cannot be told (see the module comment). */
export function metricChange(metric: MetricName, a: number | null, b: number | null): number | null {
  if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b)) return null;
  if (a === b) return 0;
  const d = b - a;
  return higherIsBetter(metric) ? d : -d;
}

function directionOf(change: number | null, passA: boolean, passB: boolean): DiffDirection {
  if (change !== null && change !== 0) return change > 0 ? 'better' : 'worse';
  if (change === null && passA !== passB) return passB ? 'better' : 'worse';
  return 'unchanged';
}

/** Pairs the rows of two reports by tensor name and measures each change in `metric`. */
export function diffReports(a: ComparisonReport, b: ComparisonReport, metric: MetricName): ReportDiff {
  const inB = new Map(b.rows.map((r) => [r.tensor, r]));
  const inA = new Set(a.rows.map((r) => r.tensor));
  const rows: RowDiff[] = [];
  const onlyInA: string[] = [];
  const totals = { improved: 0, worse: 0, unchanged: 0 };
  for (const ra of a.rows) {
    const rb = inB.get(ra.tensor);
    const va = valueOf(ra, metric);
    const vb = valueOf(rb, metric);
    if (!rb) onlyInA.push(ra.tensor);
    const change = rb ? metricChange(metric, va, vb) : null;
    const direction = rb ? directionOf(change, ra.pass, rb.pass) : 'unchanged';
    if (rb) totals[direction === 'better' ? 'improved' : direction === 'worse' ? 'worse' : 'unchanged'] += 1;
    rows.push({
      tensor: ra.tensor,
      node: ra.node,
      opType: ra.opType,
      a: va,
      b: vb,
      change,
      passA: ra.pass,
      passB: rb ? rb.pass : null,
      direction,
      in: rb ? 'both' : 'a',
    });
  }
  const onlyInB: string[] = [];
  for (const rb of b.rows) {
    if (inA.has(rb.tensor)) continue;
    onlyInB.push(rb.tensor);
    rows.push({
      tensor: rb.tensor,
      node: rb.node,
      opType: rb.opType,
      a: null,
      b: valueOf(rb, metric),
      change: null,
      passA: null,
      passB: rb.pass,
      direction: 'unchanged',
      in: 'b',
    });
  }
  return { metric, rows, onlyInA, onlyInB, totals: { ...totals, onlyInA: onlyInA.length, onlyInB: onlyInB.length } };
}
