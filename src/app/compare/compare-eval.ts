import { join } from 'node:path';
import type { ComparisonReport, ComparisonRow } from '../../analysis/comparison.js';
import { hasNonFiniteFailure, higherIsBetter, metricValue } from '../../analysis/metrics.js';
import { writeDepthPlot } from '../../store/report-plot.js';
import { compareModel, type CompareOptions, type CompareResult } from './compare.js';
import { assembleReport, criterionOf, gatePasses, imagePlotPath, preparePlotPath, writeReportJson } from './compare-report.js';
import type { ModelContext } from '../context.js';
import { inSampleWarning } from '../evaluation.js';
import { silent } from '../events.js';
import { makeDirectory } from '../../store/directories.js';

/**
 * Compare over an evaluation set (DESIGN.md §5): one whole compare per evaluation input, one
 * input at a time (memory stays that of one compare), then one report. Each row is the tensor
 * on the input where it is worst (`worstInput`), so a tensor fails when it fails on any input;
 * `report.evaluation` lists every input's outputs and failing count, and the outputs' mean and
 * worst. The findings, perturbation and achievable value are those of the input whose outputs
 * are worst. With `outDir`, each input's run directory is `<outDir>/input-<k>` and the merged
 * report.json is written at the top; with `plot`, each input gets `<plot>-input-<k>.png` (named
 * as an output's image plot is) and its image comparisons, and the merged depth plot is `plot`.
 */
export async function compareOverEvaluation(
  options: CompareOptions & { readonly evaluation: readonly ModelContext[] },
): Promise<CompareResult> {
  const { evaluation } = options;
  if (evaluation.length <= 1) return compareModel({ ...options, ctx: evaluation[0] ?? options.ctx });
  const started = Date.now();
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  if (options.plot !== undefined) preparePlotPath(options.plot);
  const onProgress = options.onProgress ?? silent;
  const results: CompareResult[] = [];
  for (const [k, ctx] of evaluation.entries()) {
    onProgress({ type: 'stage', stage: 'evaluation', detail: `input ${k + 1} of ${evaluation.length}: ${inputLabel(ctx)}` });
    results.push(
      await compareModel({
        ...options,
        ctx,
        outDir: options.outDir === undefined ? undefined : join(options.outDir, `input-${k + 1}`),
        plot: options.plot === undefined ? undefined : imagePlotPath(options.plot, `input-${k + 1}`),
      }),
    );
  }
  const reports = results.map((r) => r.report);
  const worst = worstReport(reports);
  const rows = reports[0].rows.map((_, i) =>
    worstRow(
      reports.map((r, k) => ({ row: r.rows[i], k })),
      reports[0].metric,
    ),
  );
  const assembled = assembleReport({
    criterion,
    rows,
    outputs: reports[0].outputs,
    model: reports[0].model,
    profile: reports[0].profile,
    perturbation: reports[worst].perturbation ?? null,
    achievable: reports[worst].achievable ?? null,
  });
  const outputs = reports[0].outputs;
  const report: ComparisonReport = {
    ...assembled,
    inSample: inSampleWarning(evaluation, options.quant.calibration),
    evaluation: {
      inputs: evaluation.map(inputLabel),
      worstInput: worst,
      perInput: reports.map((r, k) => ({
        input: inputLabel(evaluation[k]),
        failing: r.rows.filter((row) => !row.pass).length,
        firstFailing: r.firstFailing,
        outputs: outputs.map((o) => {
          const row = r.rows.find((x) => x.tensor === o);
          return { tensor: o, metrics: row?.metrics ?? null, pass: row?.pass ?? false };
        }),
      })),
      mean: outputs.map((o) => {
        const ms = reports.map((r) => r.rows.find((x) => x.tensor === o)?.metrics ?? null);
        const mean = (f: (m: NonNullable<(typeof ms)[number]>) => number): number | null =>
          ms.every((m) => m !== null) ? ms.reduce((s, m) => s + f(m), 0) / ms.length : null;
        return { tensor: o, cosine: mean((m) => m.cosine), snrDb: mean((m) => m.snrDb), psnrDb: mean((m) => m.psnrDb) };
      }),
    },
    findings: reports[worst].findings ?? [],
  };
  let outDir: string | null = null;
  if (options.outDir !== undefined) {
    makeDirectory(options.outDir, 'Run directory');
    writeReportJson(options.outDir, report);
    outDir = options.outDir;
  }
  const plots = results.flatMap((r) => r.plots);
  if (options.plot !== undefined) {
    await writeDepthPlot(options.plot, report);
    plots.unshift(options.plot);
  }
  const sum = (key: keyof CompareResult['timings']) => results.reduce((s, r) => s + r.timings[key], 0);
  return {
    report,
    outDir,
    groups: Math.max(...results.map((r) => r.groups)),
    gatePasses: gatePasses(report),
    plots,
    notes: [...new Set(results.flatMap((r) => r.notes))],
    timings: {
      floatMs: sum('floatMs'),
      quantMs: sum('quantMs'),
      ownMs: sum('ownMs'),
      metricsMs: sum('metricsMs'),
      writeMs: sum('writeMs'),
      extraMs: sum('extraMs'),
      totalMs: Date.now() - started,
    },
  };
}

function inputLabel(ctx: ModelContext): string {
  return ctx.sources.map((s) => s.source).join(', ');
}

/** A row's badness for the merge: failing before passing, then the metric's worse side (NaN/Inf introduced worst). */
function badness(row: ComparisonRow, metric: ComparisonReport['metric']): number {
  if (!row.metrics) return Infinity;
  if (hasNonFiniteFailure(row.metrics)) return Number.MAX_VALUE;
  const v = metricValue(row.metrics, metric);
  if (Number.isNaN(v)) return Number.MAX_VALUE;
  const oriented = higherIsBetter(metric) ? -v : v;
  return (row.pass ? 0 : 1e12) + oriented;
}

function worstRow(rows: readonly { row: ComparisonRow; k: number }[], metric: ComparisonReport['metric']): ComparisonRow {
  const w = rows.reduce((a, b) => (badness(b.row, metric) > badness(a.row, metric) ? b : a));
  return { ...w.row, worstInput: w.k };
}

/** The input whose outputs fare worst: most failing outputs, then the worst output's metric. */
function worstReport(reports: readonly ComparisonReport[]): number {
  let best = 0;
  let bestScore = -Infinity;
  reports.forEach((r, k) => {
    const outs = r.rows.filter((row) => r.outputs.includes(row.tensor));
    const score = outs.reduce((s, row) => Math.max(s, badness(row, r.metric)), -Infinity);
    if (score > bestScore) {
      best = k;
      bestScore = score;
    }
  });
  return best;
}
