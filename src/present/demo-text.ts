import { basename } from 'node:path';
import Table from 'cli-table3';
import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { formatMetric, metricValue, type MetricName, type Metrics } from '../analysis/metrics.js';
import type { DemoResult } from '../app/demo.js';
import { displayName } from '../core/closest.js';
import { wrapCell } from './report-cells.js';

/** The demo's story in words and tables, as the CLI prints it. */

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function brief(m: Metrics): string {
  return `cosine ${formatMetric('cosine', m.cosine)}, SNR ${formatMetric('snrDb', m.snrDb)} dB, PSNR ${formatMetric('psnrDb', m.psnrDb)} dB`;
}

/** The rows around the first failing tensor, and the outputs: where the error starts and where it ends. */
function windowRows(report: ComparisonReport, around = 3): ComparisonRow[] {
  const first = report.rows.findIndex((r) => r.tensor === report.firstFailing);
  const keep = new Set<number>();
  if (first >= 0) for (let i = Math.max(0, first - around); i <= Math.min(report.rows.length - 1, first + around); i++) keep.add(i);
  report.rows.forEach((r, i) => {
    if (report.outputs.includes(r.tensor)) keep.add(i);
  });
  return [...keep].sort((a, b) => a - b).map((i) => report.rows[i]);
}

/** A compact per-layer table that fits 80 columns: long names wrapped onto more lines, the first failing row marked. */
function layerTable(report: ComparisonReport): string {
  // SNR always; beside it the report's metric, or cosine when the report gates on SNR.
  const metric: MetricName = report.metric === 'snrDb' ? 'cosine' : report.metric;
  const wrap = (text: string, max: number): string => wrapCell(displayName(text, 4096), max);
  const table = new Table({
    head: ['#', 'node', 'op type', metric, 'SNR dB', 'verdict', ''],
    colAligns: ['right', 'left', 'left', 'right', 'right', 'left', 'left'],
    style: { head: [], border: [], compact: true },
  });
  let last = -1;
  for (const row of windowRows(report)) {
    if (last >= 0 && row.index > last + 1) table.push(['…', '', '', '', '', '', '']);
    last = row.index;
    const m = row.metrics;
    table.push([
      String(row.index),
      wrap(row.node, 15),
      wrap(row.opType, 13),
      m ? formatMetric(metric, metricValue(m, metric)) : '-',
      m ? formatMetric('snrDb', m.snrDb) : '-',
      row.verdict ?? '',
      row.tensor === report.firstFailing ? 'FAIL<' : row.pass ? 'pass' : 'FAIL',
    ]);
  }
  return table.toString();
}

/** Items joined by commas in lines of at most `width` columns, each line indented. */
function wrapList(items: readonly string[], indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const [i, item] of items.entries()) {
    const piece = `${item}${i < items.length - 1 ? ',' : ';'}`;
    if (line.length > indent.length && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.length > indent.length ? ` ${piece}` : piece;
  }
  if (line.length > indent.length) lines.push(line);
  return lines;
}

/** The demo's text: five steps, a short summary and the files written, in lines of about 80 columns. Every figure comes from the result. */
export function formatDemo(r: DemoResult): string {
  const name = (t: string): string => displayName(t, 48);
  const out: string[] = [];
  const c = r.comparison;
  const b = r.bisect;
  const f = r.fix;
  out.push(`quantscope demo: ${name(basename(r.model))} (${r.profile}, target ${r.target})`);
  out.push('');
  out.push(`1. INT8 plan: output '${name(b.output.tensor)}' ${b.output.pass ? 'meets' : 'misses'} ${r.target}:`);
  const reference = c.achievable ? ` (${c.achievable.label}: ${c.metric} ${formatMetric(c.metric, c.achievable.value)})` : '';
  out.push(`   ${brief(b.output.metrics)}${reference}`);
  const failing = c.rows.filter((row) => !row.pass).length;
  out.push(
    `2. Per layer: ${c.rows.length} tensors, ${failing} fail ${c.metric} >= ${c.threshold}; first (<): ${c.firstFailing === null ? 'none' : `'${name(c.firstFailing)}'`}`,
  );
  out.push(layerTable(c));
  if (b.culprit) {
    out.push(
      `3. Bisect: culprit ${name(b.culprit.node)} (${b.culprit.opType}), ${b.metric} ${formatMetric(b.metric, metricValue(b.culprit.metrics, b.metric))};`,
    );
    for (const i of b.inputs) {
      out.push(
        `   its input '${name(i.tensor)}' ${i.metrics ? `${i.pass ? 'passes' : 'FAILS'} (${b.metric} ${formatMetric(b.metric, metricValue(i.metrics, b.metric))})` : 'is identical to the reference'}.`,
      );
    }
    out.push(
      `   ${b.probes.length} probes over ${b.candidates} candidates: ${b.quantRuns} quant runs (at most ${b.runBudget}), one tap each.`,
    );
  } else {
    out.push('3. Bisect: the output passes; nothing to search.');
  }
  const changes = f.regions.flatMap((reg) => reg.changes.map((ch) => `${name(ch.node)} ${ch.from}->${ch.to}`));
  out.push(
    `4. Fix: ${f.met ? 'target met' : 'target NOT met'} by promoting ${changes.length === 0 ? 'nothing' : changes.length === 1 ? changes[0] : `${changes.length} nodes`} (${f.quantRuns} quant runs)${changes.length > 1 ? ':' : ';'}`,
  );
  if (changes.length > 1) out.push(...wrapList(changes, '   ', 80));
  out.push(`   cost ${pct(f.cost.macShareAboveInt8)} of MACs, ${pct(f.cost.weightShareAboveInt8)} of weights above INT8.`);
  if (f.emitted) {
    out.push(
      `5. Emit: read back ${f.emitted.verifiedNodes} nodes as planned, outputs ${f.emitted.outputsIdentical ? 'equal to' : 'DIFFERENT from'} the quant backend's.`,
    );
  }
  out.push('');
  out.push('Summary');
  const before = f.before.find((o) => o.tensor === b.output.tensor) ?? f.before[0];
  const after = f.outputs.find((o) => o.tensor === before?.tensor);
  if (before && after) {
    out.push(`  '${name(before.tensor)}' INT8:  ${brief(before.metrics)}`);
    out.push(`  '${name(before.tensor)}' fixed: ${brief(after.metrics)}`);
  }
  if (c.perturbation) {
    const p = c.perturbation;
    out.push(
      `  tapping every tensor moves the output: ${p.metric} ${formatMetric(p.metric, p.withTaps)} vs ${formatMetric(p.metric, p.withoutTaps)}`,
    );
  }
  const hazard = r.hazard;
  out.push(
    `  documented hazard '${name(hazard.node)}': ${hazard.namedByBisect ? 'named by bisect' : 'NOT named by bisect'}, ${hazard.promotedByFix ? 'promoted by fix' : 'NOT promoted by fix'}`,
  );
  out.push(
    `  ${changes.length} node(s) above INT8 (${pct(f.cost.macShareAboveInt8)} of MACs); ${b.quantRuns + f.quantRuns} quant runs; ${r.seconds.toFixed(1)} s in all`,
  );
  out.push('');
  out.push('Wrote');
  for (const file of r.files) out.push(`  ${file}`);
  return out.join('\n');
}
