import { join, dirname, basename, extname } from 'node:path';
import {
  firstFailing,
  rowPasses,
  worstSource,
  type Achievable,
  type ComparisonReport,
  type ComparisonRow,
  type TapPerturbation,
} from '../../analysis/comparison.js';
import {
  checkPeak,
  DEFAULT_OUTPUT_PSNR_DB,
  DEFAULT_TENSOR_SNR_DB,
  formatGoal,
  meetsGoal,
  parseGoal,
  requiredSnrDb,
  type Goal,
} from '../../analysis/gate.js';
import {
  higherIsBetter,
  isMetricName,
  metricValue,
  resolveMetricName,
  METRIC_NAMES,
  type MetricName,
  type Metrics,
} from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import { CancelledError, messageOf, UserError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { sanitizeName } from '../../store/file-names.js';
import { formatJson } from '../../store/report-json.js';
import { isImageLike } from '../../store/report-image.js';
import { writeDepthPlot, writeImageComparison } from '../../store/report-plot.js';
import { makeDirectory } from '../../store/directories.js';

/** Pieces shared by the two compare use-cases (model runs and dump directories). */

export const DEFAULT_METRIC: MetricName = 'snrDb';
/** A tensor passes at SNR >= 30 dB by default, and an output also at PSNR >= 40 dB (analysis/gate.ts). */
export const DEFAULT_THRESHOLD = DEFAULT_TENSOR_SNR_DB;
/** What `--metric cosine` (or worstChannelCosine) defaults to when no threshold is given. */
export const DEFAULT_COSINE_THRESHOLD = 0.99;
export const REPORT_FILE = 'report.json';

export interface Criterion {
  readonly metric: MetricName;
  readonly threshold: number;
  /**
   * What every graph output must meet on top of the threshold (the default gate's PSNR, or an
   * explicit metric at a given `--peak`); null: outputs are judged like any tensor.
   */
  readonly outputs: Goal | null;
}

/**
 * The metric and threshold of a report. Without `--metric`, the default gate (analysis/gate.ts):
 * tensors at snrDb >= 30 (or `--threshold`), outputs also at psnrDb >= 40 at `--peak` (default
 * max |x|). With `--metric`, exactly that metric: the cosines default to 0.99 and snrDb to 30;
 * any other metric needs its threshold, since its scale depends on the data (squared units...).
 * A `--peak` then sets the peak of the outputs' PSNR.
 */
export function criterionOf(metric: string | undefined, threshold: number | undefined, peak: number | null = null): Criterion {
  checkPeak(peak);
  if (threshold !== undefined && !Number.isFinite(threshold)) throw new UserError(`--threshold must be a finite number, not ${threshold}.`);
  if (metric === undefined) {
    const t = threshold ?? DEFAULT_THRESHOLD;
    return {
      metric: DEFAULT_METRIC,
      threshold: t,
      outputs: parseGoal(`snrDb>=${t},psnrDb>=${DEFAULT_OUTPUT_PSNR_DB}`, '--threshold', peak),
    };
  }
  const name = isMetricName(metric) ? metric : resolveMetricName(metric);
  if (!name) throw new UserError(`--metric '${metric}' is not a metric; use one of ${METRIC_NAMES.join(', ')}.`);
  const fallback =
    name === 'cosine' || name === 'worstChannelCosine' ? DEFAULT_COSINE_THRESHOLD : name === 'snrDb' ? DEFAULT_THRESHOLD : undefined;
  const t = threshold ?? fallback;
  if (t === undefined) {
    throw new UserError(
      `--metric ${name} needs a --threshold (for example ${higherIsBetter(name) ? '--threshold 40' : '--threshold 1e-3'}); only the cosines (${DEFAULT_COSINE_THRESHOLD}) and snrDb (${DEFAULT_THRESHOLD}) have defaults.`,
    );
  }
  const outputs = peak !== null && name === 'psnrDb' ? { targets: [{ metric: name, op: '>=' as const, value: t }], peak } : null;
  return { metric: name, threshold: t, outputs };
}

/** Whether a row passes: the criterion along the graph and, for a graph output, the outputs' goal. */
export function passesCriterion(metrics: Metrics | null | undefined, criterion: Criterion, isOutput: boolean): boolean {
  if (!metrics || !rowPasses(metrics, criterion.metric, criterion.threshold)) return false;
  return !isOutput || criterion.outputs === null || meetsGoal(metrics, criterion.outputs);
}

/**
 * The criterion a search along the graph (bisect, fix) uses for a failing output: scale-free SNR.
 * When the output fails the threshold itself, the search looks for the first tensor that does.
 * When it passes the threshold but misses the rest of its goal (its PSNR), the SNR it would need
 * (analysis/gate.ts requiredSnrDb) becomes the threshold, so the search looks for the first
 * tensor short of what the output needs. Other metrics search as they are.
 */
export function searchCriterion(criterion: Criterion, output: Metrics): Criterion {
  if (criterion.outputs === null || criterion.metric !== 'snrDb') return { ...criterion, outputs: null };
  return { metric: 'snrDb', threshold: searchSnrDb(criterion.threshold, output, criterion.outputs), outputs: null };
}

/** The SNR a search along the graph holds tensors to (see searchCriterion): `floor` unless the output passes it and still misses its goal. */
export function searchSnrDb(floor: number, output: Metrics, goal: Goal): number {
  if (!rowPasses(output, 'snrDb', floor)) return floor;
  const required = requiredSnrDb(output, goal);
  return Number.isFinite(required) && required > floor ? required : floor;
}

/** The report's record of the outputs' goal. */
export function outputGoalOf(criterion: Criterion): ComparisonReport['outputGoal'] {
  return criterion.outputs ? { text: formatGoal(criterion.outputs), peak: criterion.outputs.peak } : null;
}

/** The worst of some metric values in the metric's direction (NaN is worst); NaN for none. */
export function worstValue(metric: MetricName, values: readonly number[]): number {
  let worst = Number.NaN;
  let first = true;
  for (const v of values) {
    if (Number.isNaN(v)) return Number.NaN;
    if (first || (higherIsBetter(metric) ? v < worst : v > worst)) worst = v;
    first = false;
  }
  return worst;
}

export interface ReportParts {
  readonly criterion: Criterion;
  readonly rows: ComparisonRow[];
  readonly outputs: string[];
  readonly model?: string;
  readonly profile?: string;
  readonly perturbation?: TapPerturbation | null;
  readonly achievable?: Achievable | null;
}

/** The report: rows sorted by topological index (stable), the first failing tensor and the worst source. */
export function assembleReport(parts: ReportParts): ComparisonReport {
  const rows = parts.rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.index - b.r.index || a.i - b.i)
    .map((x) => x.r);
  const { metric, threshold } = parts.criterion;
  return {
    schemaVersion: 1,
    ...(parts.model !== undefined ? { model: parts.model } : {}),
    ...(parts.profile !== undefined ? { profile: parts.profile } : {}),
    metric,
    threshold,
    outputGoal: outputGoalOf(parts.criterion),
    rows,
    firstFailing: firstFailing(rows),
    worstSource: worstSource(rows, metric),
    outputs: parts.outputs,
    ...(parts.perturbation !== undefined ? { perturbation: parts.perturbation } : {}),
    ...(parts.achievable !== undefined ? { achievable: parts.achievable } : {}),
  };
}

/**
 * The quality gate of `--fail-under`: every output row passes (a row that was not compared does
 * not). A report without output rows (dump directories compared without a model) gates on every
 * row, and a report without rows fails: nothing was shown to pass.
 */
export function gatePasses(report: ComparisonReport): boolean {
  const outputs = new Set(report.outputs);
  const gated = report.rows.some((r) => outputs.has(r.tensor)) ? report.rows.filter((r) => outputs.has(r.tensor)) : report.rows;
  return gated.length > 0 && gated.every((r) => r.pass);
}

/**
 * The tap perturbation (DESIGN.md §4): for each output, its metric in the run with the taps and in
 * a run without; the output whose two values differ most is reported (the first on ties).
 */
export function perturbationOf(
  metric: MetricName,
  pairs: readonly { output: string; withTaps: Metrics; withoutTaps: Metrics }[],
): TapPerturbation | null {
  let best: TapPerturbation | null = null;
  let bestGap = -1;
  for (const p of pairs) {
    const withTaps = metricValue(p.withTaps, metric);
    const withoutTaps = metricValue(p.withoutTaps, metric);
    const gap = withTaps === withoutTaps ? 0 : Math.abs(withTaps - withoutTaps);
    const g = Number.isNaN(gap) ? Infinity : gap;
    if (g > bestGap) {
      best = { output: p.output, metric, withTaps, withoutTaps };
      bestGap = g;
    }
  }
  return best;
}

/** Writes report.json into a directory, atomically. */
export function writeReportJson(dir: string, report: ComparisonReport): string {
  const file = join(dir, REPORT_FILE);
  writeFileAtomic(file, formatJson(report));
  return file;
}

/** The file of an output's image comparison beside the depth plot: `<plot>-<output>.png`. */
export function imagePlotPath(plot: string, output: string): string {
  const ext = extname(plot);
  const stem = ext.toLowerCase() === '.png' ? basename(plot, ext) : basename(plot);
  return join(dirname(plot), `${stem}-${sanitizeName(output, 60)}.png`);
}

/** Checks a `--plot` path before any work: it must end in .png; its folder is created. */
export function preparePlotPath(plot: string): void {
  if (extname(plot).toLowerCase() !== '.png') throw new UserError(`--plot '${displayName(plot, 200)}' must name a .png file.`);
  try {
    makeDirectory(dirname(plot), "The plot's directory");
  } catch (error) {
    throw new UserError(
      `The folder of --plot '${displayName(plot, 200)}' cannot be created (${(error as { code?: string }).code ?? messageOf(error)}).`,
      { cause: error },
    );
  }
}

/**
 * Writes the depth plot and, for each image-like output pair (N,C,H,W with C = 1 or 3), the
 * float / quantized / error image beside it. Returns the files written.
 */
export async function writePlots(
  plot: string,
  report: ComparisonReport,
  images: readonly { name: string; ref: Tensor; test: Tensor }[],
): Promise<string[]> {
  preparePlotPath(plot);
  await writeDepthPlot(plot, report);
  const written = [plot];
  for (const { name, ref, test } of images) {
    if (!isImageLike(ref.dims) || ref.data.length !== test.data.length) continue;
    const file = imagePlotPath(plot, name);
    await writeImageComparison(file, ref, test, { title: `${name}: float vs quantized` });
    written.push(file);
  }
  return written;
}

/** Throws CancelledError when the signal has fired. */
export function checkCancelled(signal: AbortSignal | undefined, what: string): void {
  if (!signal?.aborted) return;
  if (signal.reason instanceof CancelledError) throw signal.reason;
  throw new CancelledError(`${what} cancelled; results written so far are kept and marked incomplete.`);
}
