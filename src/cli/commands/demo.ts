import Table from 'cli-table3';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import type { ComparisonReport, ComparisonRow } from '../../analysis/comparison.js';
import { formatMetric, metricValue, type MetricName, type Metrics } from '../../analysis/metrics.js';
import { runDemo, type DemoResult } from '../../app/demo.js';
import { displayName } from '../../core/closest.js';
import { withOutputOptions, type OutputArgs } from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { cancelOnSignals } from '../signals.js';

interface DemoArgs extends OutputArgs {
  'emit-dir'?: string;
}

/**
 * `quantscope demo`: the whole story on the built-in demo model, no input needed. Also what a
 * plain `quantscope` runs outside a terminal. Exit code 0 when the story completes.
 */
export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole story on the built-in demo model: compare, bisect, fix, emit',
  builder: (y: Argv) =>
    withOutputOptions(y)
      .option('emit-dir', { type: 'string', describe: 'Directory the fixed model is written to (default models)' }) as unknown as Argv<DemoArgs>,
  handler: async (args: ArgumentsCamelCase<DemoArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const result = await runDemo({ emitDir: args['emit-dir'], onProgress, signal });
      if (args.json) printJson(result);
      else print(formatDemo(result));
    } finally {
      release();
    }
  },
};

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function brief(m: Metrics): string {
  return `cosine ${formatMetric('cosine', m.cosine)}, SNR ${formatMetric('snrDb', m.snrDb)} dB, PSNR ${formatMetric('psnrDb', m.psnrDb)} dB`;
}

/** The rows around the first failing tensor, and the outputs: where the error starts and where it ends. */
function windowRows(report: ComparisonReport, around = 3): ComparisonRow[] {
  const first = report.rows.findIndex((r) => r.tensor === report.firstFailing);
  const keep = new Set<number>();
  if (first >= 0) for (let i = Math.max(0, first - around); i <= Math.min(report.rows.length - 1, first + around); i++) keep.add(i);
  report.rows.forEach((r, i) => { if (report.outputs.includes(r.tensor)) keep.add(i); });
  return [...keep].sort((a, b) => a - b).map((i) => report.rows[i]);
}

function layerTable(report: ComparisonReport): string {
  const metric: MetricName = report.metric;
  const table = new Table({
    head: ['#', 'node', 'op type', metric, 'SNR dB', 'own', 'verdict', ''],
    colAligns: ['right', 'left', 'left', 'right', 'right', 'right', 'left', 'left'],
    style: { head: [], border: [], compact: true },
  });
  let last = -1;
  for (const row of windowRows(report)) {
    if (last >= 0 && row.index > last + 1) table.push(['…', '', '', '', '', '', '', '']);
    last = row.index;
    const m = row.metrics;
    table.push([
      String(row.index), displayName(row.node, 24), displayName(row.opType, 22),
      m ? formatMetric(metric, metricValue(m, metric)) : '-', m ? formatMetric('snrDb', m.snrDb) : '-',
      row.own ? formatMetric(metric, metricValue(row.own, metric)) : '-', row.verdict ?? '',
      row.tensor === report.firstFailing ? 'FAIL  <- first failing' : row.pass ? 'pass' : 'FAIL',
    ]);
  }
  return table.toString();
}

/** The demo's text: five steps, then a one-screen summary. Every figure comes from the result. */
export function formatDemo(r: DemoResult): string {
  const name = (t: string): string => displayName(t, 48);
  const out: string[] = [];
  const c = r.comparison;
  const outputRow = c.rows.find((row) => c.outputs.includes(row.tensor));
  const b = r.bisect;
  const f = r.fix;
  out.push(`quantscope demo: ${name(r.model)}, profile ${r.profile}, target ${r.target}`);
  out.push('');
  out.push(`1. INT8 plan: output '${name(b.output.tensor)}' ${brief(b.output.metrics)}: ${b.output.pass ? 'meets' : 'misses'} ${r.target}.`);
  if (c.achievable) out.push(`   (${c.achievable.label} would reach ${c.metric} ${formatMetric(c.metric, c.achievable.value)} on the same inputs.)`);
  const failing = c.rows.filter((row) => !row.pass).length;
  out.push(`2. Per layer: ${c.rows.length} tensors compared, ${failing} fail ${c.metric} >= ${c.threshold}; the first is ${c.firstFailing === null ? 'none' : `'${name(c.firstFailing)}'`}:`);
  out.push(layerTable(c));
  if (b.culprit) {
    const inputs = b.inputs.map((i) => `'${name(i.tensor)}' ${i.metrics ? `${b.metric} ${formatMetric(b.metric, metricValue(i.metrics, b.metric))}` : 'identical'}`).join(', ');
    out.push(`3. Bisect: culprit ${name(b.culprit.node)} (${b.culprit.opType}): ${b.metric} ${formatMetric(b.metric, metricValue(b.culprit.metrics, b.metric))} while its input${b.inputs.length === 1 ? '' : 's'} ${inputs} pass${b.inputs.length === 1 ? 'es' : ''};`);
    out.push(`   ${b.probes.length} probes over ${b.candidates} candidates, ${b.quantRuns} quant runs (at most ${b.runBudget} allowed), one tap per probe.`);
  } else {
    out.push('3. Bisect: the output passes; nothing to search.');
  }
  const changes = f.regions.flatMap((reg) => reg.changes.map((ch) => `${name(ch.node)} ${ch.from}->${ch.to}`));
  out.push(`4. Fix: ${f.met ? 'target met' : 'target NOT met'} by promoting ${changes.length > 0 ? changes.join(', ') : 'nothing'} (${f.quantRuns} quant runs);`);
  out.push(`   cost ${pct(f.cost.macShareAboveInt8)} of MACs and ${pct(f.cost.weightShareAboveInt8)} of weights above INT8. Plan: ${f.plan}`);
  if (f.emitted) {
    out.push(`5. Emit: ${f.emitted.model} (+ .quant.json, .manifest.json), read back: ${f.emitted.verifiedNodes} nodes at their planned precision, outputs ${f.emitted.outputsIdentical ? 'identical to the quant backend' : 'DIFFERENT from the quant backend'}.`);
  }
  out.push('');
  out.push('Summary');
  const before = f.before.find((o) => o.tensor === b.output.tensor) ?? f.before[0];
  const after = f.outputs.find((o) => o.tensor === before?.tensor);
  if (before && after) out.push(`  output '${name(before.tensor)}': ${brief(before.metrics)}  ->  ${brief(after.metrics)}`);
  if (outputRow?.metrics && c.perturbation) {
    out.push(`  taps move the output: ${c.perturbation.metric} ${formatMetric(c.perturbation.metric, c.perturbation.withTaps)} with every tensor tapped vs ${formatMetric(c.perturbation.metric, c.perturbation.withoutTaps)} with none`);
  }
  const hazard = r.hazard;
  out.push(`  documented hazard '${name(hazard.node)}': ${hazard.namedByBisect ? 'named by bisect' : 'NOT named by bisect'}, ${hazard.promotedByFix ? 'promoted by fix' : 'NOT promoted by fix'}`);
  out.push(`  ${f.met ? 'fixed' : 'not fixed'} with ${changes.length} node(s) above INT8 (${pct(f.cost.macShareAboveInt8)} of MACs); ${b.quantRuns + f.quantRuns} quant runs for bisect and fix; ${r.seconds.toFixed(1)} s in all`);
  return out.join('\n');
}
