import type { Finding } from './advisor-finding.js';
import type { ValueDistribution } from './distribution.js';
import { hasNonFiniteFailure, higherIsBetter, metricValue, valueMeets, type MetricName, type Metrics } from './metrics.js';

/** How a tensor's error came about (DESIGN.md §5, own vs accumulated error). */
export type Verdict = 'source' | 'amplifier' | 'follows';

/** One compared tensor. */
export interface ComparisonRow {
  readonly tensor: string;
  /** Producing node's name ('' for a graph input). */
  readonly node: string;
  readonly opType: string;
  /** Topological index of the producing node. */
  readonly index: number;
  readonly shape: readonly number[];
  readonly dtype: string;
  /** Accumulated error: the whole quantized graph up to this tensor; null when it could not be compared. */
  readonly metrics: Metrics | null;
  /** Own error: only the producing node quantized, fed the float reference values. */
  readonly own?: Metrics | null;
  readonly verdict?: Verdict | null;
  readonly pass: boolean;
  /** Why the row has no metrics, in one sentence (missing on one side, shape mismatch...). */
  readonly error?: string;
  /** Over an evaluation set: the input (index into report.evaluation.inputs) the row was measured on, where it is worst. */
  readonly worstInput?: number;
  /** Histograms of both sides' values and per-channel ranges (analysis/distribution.ts); absent in older reports. */
  readonly distribution?: ValueDistribution | null;
}

/** One evaluation input's outputs in a compare over an evaluation set. */
export interface InputOutcome {
  readonly input: string;
  readonly failing: number;
  readonly firstFailing: string | null;
  readonly outputs: readonly { readonly tensor: string; readonly metrics: Metrics | null; readonly pass: boolean }[];
}

/** A compare over several evaluation inputs: each input's outcome, the outputs' mean, and the worst input. */
export interface EvaluationOutcome {
  readonly inputs: readonly string[];
  /** The input whose outputs fare worst (its findings, perturbation and achievable value are the report's). */
  readonly worstInput: number;
  readonly perInput: readonly InputOutcome[];
  readonly mean: readonly {
    readonly tensor: string;
    readonly cosine: number | null;
    readonly snrDb: number | null;
    readonly psnrDb: number | null;
  }[];
}

/** How much the taps themselves moved an output (a tap splits fused groups, DESIGN.md §4). */
export interface TapPerturbation {
  readonly output: string;
  readonly metric: MetricName;
  /** The output's metric in the run with the taps. */
  readonly withTaps: number;
  /** The output's metric in a run with no taps. */
  readonly withoutTaps: number;
}

/** What a reference plan (INT16 by default) reaches at the outputs on the same inputs. */
export interface Achievable {
  readonly label: string;
  readonly value: number;
}

export interface ComparisonReport {
  readonly schemaVersion: 1;
  readonly model?: string;
  readonly profile?: string;
  readonly metric: MetricName;
  readonly threshold: number;
  /**
   * What the outputs must meet on top of the threshold (the default gate's PSNR, analysis/gate.ts):
   * the goal as `--target` text and the PSNR's peak (null: max |x| of each float output).
   */
  readonly outputGoal?: { readonly text: string; readonly peak: number | null } | null;
  /** Rows in topological order. */
  readonly rows: ComparisonRow[];
  /** Tensor name of the earliest compared row that fails (a row without metrics is not compared, never first failing). */
  readonly firstFailing: string | null;
  /** Tensor name of the 'source' row with the worst own error. */
  readonly worstSource: string | null;
  /** Names of the rows that are graph outputs. */
  readonly outputs: string[];
  readonly perturbation?: TapPerturbation | null;
  readonly achievable?: Achievable | null;
  /** Set when the evaluation input is also a calibration input: one sentence saying so. */
  readonly inSample?: string | null;
  /** Over several evaluation inputs (`--eval`): rows are each tensor on its worst input. */
  readonly evaluation?: EvaluationOutcome;
  /** What the advisor (analysis/advisor.ts) reads in the report: causes and what to do. */
  readonly findings?: readonly Finding[];
}

/**
 * Whether a tensor passes: it has metrics, y has no NaN/Inf where x is finite, and the metric
 * meets the threshold in its better direction (>= for cosine/SNR/PSNR, <= for the errors).
 */
export function rowPasses(metrics: Metrics | null | undefined, metric: MetricName, threshold: number): boolean {
  if (!metrics) return false;
  if (hasNonFiniteFailure(metrics)) return false;
  return valueMeets(metric, metricValue(metrics, metric), threshold);
}

/**
 * The tensor of the compared failing row with the lowest topological index (ties: first in the
 * list). A row without metrics (no file on one side, sizes that differ) was not compared: it says
 * nothing about where the error starts, so it is never the first failing tensor.
 */
export function firstFailing(rows: readonly ComparisonRow[]): string | null {
  let best: ComparisonRow | null = null;
  for (const r of rows) if (!r.pass && r.metrics !== null && (best === null || r.index < best.index)) best = r;
  return best ? best.tensor : null;
}

/** The tensor of the 'source' row whose own error is worst on the metric; null when there is none. */
export function worstSource(rows: readonly ComparisonRow[], metric: MetricName): string | null {
  let best: ComparisonRow | null = null;
  let bestValue = 0;
  const sign = higherIsBetter(metric) ? 1 : -1;
  for (const r of rows) {
    if (r.verdict !== 'source' || !r.own) continue;
    // A source that introduces NaN/Inf is worse than any finite error, whatever the metric says
    // about its finite elements.
    const v = hasNonFiniteFailure(r.own) ? Number.NEGATIVE_INFINITY : sign * metricValue(r.own, metric);
    if (best === null || v < bestValue || (Number.isNaN(v) && !Number.isNaN(bestValue))) {
      best = r;
      bestValue = v;
    }
  }
  return best ? best.tensor : null;
}
