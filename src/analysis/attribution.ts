import { rowPasses, type ComparisonRow, type Verdict } from './comparison.js';
import type { MetricName, Metrics } from './metrics.js';

/**
 * Own vs accumulated error (DESIGN.md §5). Accumulated error is a row's plain comparison; own
 * error is the comparison of the float value with the output of the tensor's kernel alone run
 * quantized on float inputs (see quant/shadow.ts). Each row gets a verdict:
 *
 * - `source`: the own error fails the report's threshold by itself;
 * - `amplifier`: not a source, the accumulated error fails the threshold, and its error power is
 *   at least AMPLIFICATION_DB worse than both the own error's and every activation input's
 *   accumulated error (all inputs must be known: compared rows or graph inputs);
 * - `follows`: anything else; the tensor carries its inputs' error along.
 *
 * Error power is the noise-to-signal ratio Σ(x−y)²/Σx² = 10^(−snrDb/10): relative, so a Mul by
 * 1000 does not look like amplification, and on the same scale for every tensor whatever metric
 * the report thresholds on. NaN or Inf introduced on the test side counts as infinite error.
 */

/** How much worse (in dB of error power) a tensor must be than its own error and its inputs to be an amplifier. */
export const AMPLIFICATION_DB = 10;

/** Σ(x−y)²/Σx² from snrDb: 0 for identical tensors, +Inf when y has NaN/Inf where x is finite or x is all zero while y is not. */
export function errorPower(m: Metrics): number {
  if (m.nonFiniteIntroduced > 0) return Infinity;
  if (Number.isNaN(m.snrDb)) return Infinity;
  return 10 ** (-m.snrDb / 10);
}

export interface AttributionOptions {
  readonly metric: MetricName;
  readonly threshold: number;
  /**
   * The activation tensors the tensor's producer reads ([] for a graph input); undefined when
   * unknown (no model). Inputs that are graph inputs without a row count as exact: both backends
   * are fed the same values.
   */
  readonly inputsOf: (tensor: string) => readonly string[] | undefined;
  readonly isGraphInput: (tensor: string) => boolean;
}

/** The verdict of one row given every row's accumulated metrics by tensor (see the module comment); null without own metrics. */
export function verdictOf(
  row: ComparisonRow,
  accumulated: ReadonlyMap<string, Metrics | null>,
  options: AttributionOptions,
): Verdict | null {
  if (!row.own || !row.metrics) return null;
  const { metric, threshold } = options;
  if (!rowPasses(row.own, metric, threshold)) return 'source';
  if (rowPasses(row.metrics, metric, threshold)) return 'follows';
  const acc = errorPower(row.metrics);
  if (!(acc > 0)) return 'follows';
  const inputs = options.inputsOf(row.tensor);
  if (inputs === undefined) return 'follows';
  let worstInput = 0;
  for (const t of inputs) {
    const m = accumulated.get(t);
    if (m) worstInput = Math.max(worstInput, errorPower(m));
    else if (!options.isGraphInput(t)) return 'follows';
  }
  const factor = 10 ** (AMPLIFICATION_DB / 10);
  const floor = Math.max(errorPower(row.own), worstInput);
  return acc >= factor * floor && acc > floor ? 'amplifier' : 'follows';
}

/** The rows with their verdicts (rows without own metrics get null). */
export function attributeRows(rows: readonly ComparisonRow[], options: AttributionOptions): ComparisonRow[] {
  const accumulated = new Map(rows.map((r) => [r.tensor, r.metrics]));
  return rows.map((r) => ({ ...r, verdict: verdictOf(r, accumulated, options) }));
}

/**
 * The metrics of a tensor compared with itself, derived from its comparison with something else
 * (only the reference side's fields are used): what computeMetrics(x, x) gives, without reading x
 * again. Used for the own error of tensors whose kernel runs in fp32. Two fields are approximate
 * when x holds NaN or Inf: maxAbsIndex (then the first element's coordinates) and whether the
 * error percentiles carry p999.
 */
export function exactMetrics(m: Metrics): Metrics {
  const compared = m.count - m.nanRef - m.infRef;
  const percentiles = Math.min(compared, 4096) >= 1000 ? { p50: 0, p90: 0, p99: 0, p999: 0 } : { p50: 0, p90: 0, p99: 0 };
  return {
    cosine: 1,
    mse: 0,
    rmse: 0,
    mae: 0,
    maxAbs: 0,
    maxAbsIndex: compared > 0 ? m.maxAbsIndex.map(() => 0) : [],
    relL2: 0,
    maxRel: 0,
    meanRel: 0,
    snrDb: Infinity,
    psnrDb: Infinity,
    worstChannelCosine: m.worstChannelCosine === null ? null : 1,
    worstChannel: m.worstChannel === null ? null : 0,
    nanRef: m.nanRef,
    nanTest: m.nanRef,
    infRef: m.infRef,
    infTest: m.infRef,
    nonFiniteIntroduced: 0,
    clipRatio: m.clipRatio,
    fp16Overflow: m.fp16Overflow,
    errorPercentiles: percentiles,
    refRange: m.refRange,
    testRange: m.refRange,
    count: m.count,
    compared,
  };
}
