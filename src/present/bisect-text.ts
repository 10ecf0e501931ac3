import type { BisectReport } from '../app/bisect/bisect.js';
import { criterionText, goalValuesText } from './report-cells.js';
import { formatMetric, metricValue, type MetricName, type Metrics } from '../analysis/metrics.js';
import { displayName } from '../core/closest.js';

/** The bisect result in words, as the CLI prints it. */

function value(metric: MetricName, m: Metrics | null): string {
  if (!m) return '-';
  const text = `${metric} ${formatMetric(metric, metricValue(m, metric))}`;
  return m.nonFiniteIntroduced > 0 ? `${text}, ${m.nonFiniteIntroduced} NaN/Inf` : text;
}

/** The report for people: verdict, culprit, inputs, probes, perturbation. */
export function formatBisect(r: BisectReport): string {
  const name = (t: string, n = 60): string => displayName(t, n);
  const gate = criterionText(r);
  const nonFinite = r.output.metrics.nonFiniteIntroduced > 0 ? `, ${r.output.metrics.nonFiniteIntroduced} NaN/Inf` : '';
  const out = `output '${name(r.output.tensor)}' (${goalValuesText(r.output.metrics, r)}${nonFinite})`;
  const ev = r.evaluation;
  const perInput = ev
    ? `\nevaluation: ${ev.inputs.length} inputs (${ev.runs} quant runs), bisect runs on the one marked * (the worst for the output):\n${ev.inputs.map((input, k) => `  ${k === ev.bisected ? '*' : ' '} ${name(input)}: ${ev.outputs[k].map((o) => `'${name(o.tensor, 40)}' ${goalValuesText(o.metrics, r)} ${o.pass ? 'pass' : 'FAIL'}`).join('; ')}`).join('\n')}`
    : '';
  const warning = `${perInput}${r.inSample ? `\nwarning: ${r.inSample}` : ''}`;
  if (!r.culprit) return `${out} passes ${gate} under ${r.profile}: nothing to bisect (${r.quantRuns} quant run).${warning}`;
  const lines = [
    `${out} fails ${gate} under ${r.profile}`,
    ...(r.searchThreshold !== null
      ? [
          `searched along the graph at ${r.metric} >= ${formatMetric(r.metric, r.searchThreshold)}: what the output needs to meet its target`,
        ]
      : []),
    `culprit: ${name(r.culprit.node)} (${r.culprit.opType}, ${r.culprit.precision}) -> '${name(r.culprit.tensor)}': ${value(r.metric, r.culprit.metrics)}`,
  ];
  for (const i of r.inputs) {
    const measured = i.metrics ? `${value(r.metric, i.metrics)} ${i.pass ? 'pass' : 'FAIL'}` : 'not measured';
    lines.push(`  input '${name(i.tensor)}': ${i.identical ? 'identical to the reference (nothing quantized upstream)' : measured}`);
  }
  const certificate = {
    'inputs-pass': 'its inputs pass in the same run',
    'inputs-identical': 'none of its inputs can differ from the reference',
    'culprit-passed': 'its inputs pass, but it passes too once they are tapped (the taps changed the numerics)',
    budget: `none: the run budget of ${r.runBudget} quant runs was spent before a certificate run`,
  }[r.certificate ?? 'inputs-pass'];
  lines.push(`certificate: ${certificate}`);
  if (r.uncertain.length > 0) {
    lines.push(
      `uncertain: the first failure may be earlier, in one of ${r.uncertain.length} tensor(s) never measured: ${r.uncertain
        .slice(0, 5)
        .map((t) => `'${name(t, 40)}'`)
        .join(', ')}${r.uncertain.length > 5 ? ', …' : ''}`,
    );
  }
  if (!r.monotone) lines.push('not monotone: a certificate found a failing input, so the search went on among its ancestors');
  lines.push(`probes (${r.candidates} candidates; ${r.quantRuns} quant runs, budget ${r.runBudget}):`);
  r.probes.forEach((p, k) => {
    const taps = p.taps
      .map((t) => `${name(t.tensor, 40)} ${formatMetric(r.metric, metricValue(t.metrics, r.metric))} ${t.pass ? 'pass' : 'FAIL'}`)
      .join('; ');
    lines.push(`  ${String(k + 1).padStart(2)} ${p.kind.padEnd(11)} ${taps}`);
  });
  if (r.perturbation) {
    const p = r.perturbation;
    lines.push(
      `tap perturbation: '${name(p.output, 40)}' ${p.metric} ${formatMetric(p.metric, p.withTaps)} with the probe taps vs ${formatMetric(p.metric, p.withoutTaps)} without`,
    );
  }
  return lines.join('\n') + warning;
}
