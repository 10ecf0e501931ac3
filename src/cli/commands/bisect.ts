import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { bisect, checkBisectOptions, type BisectReport } from '../../app/bisect/bisect.js';
import { criterionText, goalValuesText } from '../../store/report-cells.js';
import { openModel } from '../../app/context.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { formatMetric, metricValue, type MetricName, type Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import { evaluationContexts } from '../../app/evaluation.js';
import {
  maxMemoryOf,
  modelInputOptions,
  quantSetupWithEval,
  withEvalOption,
  withModelOptions,
  withOutputOptions,
  withQuantOptions,
  type EvalArgs,
  type ModelArgs,
  type OutputArgs,
  type QuantArgs,
} from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { withFindings } from '../../store/report-findings.js';
import { cancelOnSignals } from '../signals.js';

interface BisectArgs extends ModelArgs, QuantArgs, OutputArgs, EvalArgs {
  output?: string;
  metric?: string;
  threshold?: number;
  peak?: number;
}

/**
 * `quantscope bisect`: the earliest failing layer behind a failing output, one tap per quant run.
 * Exit codes: 0 the culprit was found or the output passes; 2 bad input.
 */
export const bisectCommand: CliCommand<BisectArgs> = {
  command: 'bisect <model>',
  describe: 'Find the first layer where the quantized model fails, with as few taps as possible',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .option('output', { type: 'string', describe: 'Graph output to bisect (default: the first failing one)' })
      .option('metric', { type: 'string', describe: 'Metric a tensor passes on (default snrDb >= 30, and every output also psnrDb >= 40)' })
      .option('threshold', { type: 'number', describe: 'Threshold of the metric (default 30 for snrDb, 0.99 for the cosines)' })
      .option('peak', {
        type: 'number',
        describe: "Peak of the outputs' PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
      }) as unknown as Argv<BisectArgs>,
  handler: async (args: ArgumentsCamelCase<BisectArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const evaluation = await evaluationContexts(ctx, args.eval);
      const maxMemory = maxMemoryOf(args);
      checkBisectOptions(ctx, {
        output: args.output,
        metric: args.metric,
        threshold: args.threshold,
        peak: args.peak,
        maxMemory,
        evaluation,
      });
      const quant = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
      const report = await bisect({
        ctx,
        quant,
        evaluation,
        output: args.output,
        metric: args.metric,
        threshold: args.threshold,
        peak: args.peak,
        maxMemory,
        onProgress,
        signal,
      });
      if (args.json) printJson(report);
      else print(withFindings(formatBisect(report), report.findings, { color: process.stdout.isTTY === true }));
    } finally {
      release();
    }
  },
};

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
