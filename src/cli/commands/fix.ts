import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { checkFixOptions, DEFAULT_MAX_PROMOTIONS, DEFAULT_TARGET, fix, regionLabel, type FixReport, type Region } from '../../app/fix.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { bindingCondition, conditionValue, parseGoal } from '../../analysis/gate.js';
import { planMemoryUse } from '../../app/memory-plan.js';
import { formatMetric } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import { ExitCode } from '../../core/errors.js';
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

interface FixArgs extends ModelArgs, QuantArgs, OutputArgs, EvalArgs {
  target: string;
  peak?: number;
  strategy: 'bisect' | 'sensitivity';
  'max-promotions'?: number;
  maxPromotions?: number;
  emit?: string;
  out?: string;
}

/**
 * `quantscope fix`: promotes the regions that break the outputs until they meet the target,
 * writes the plan file and, with --emit, the verified model.
 * Exit codes: 0 the target is met; 1 it is not (the plan reached is still written); 2 bad input.
 */
export const fixCommand: CliCommand<FixArgs> = {
  command: 'fix <model>',
  describe: 'Promote the failing layers to INT16/FP32 until the outputs meet a target; write the plan (and the model)',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .option('target', {
        type: 'string',
        default: DEFAULT_TARGET,
        describe:
          'What every output must reach: METRIC>=X or METRIC<=X (cosine, snrDb, psnrDb, mse, ...), several joined by commas all hold',
      })
      .option('peak', {
        type: 'number',
        describe: "Peak of the target's PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
      })
      .option('strategy', {
        type: 'string',
        choices: ['bisect', 'sensitivity'],
        default: 'bisect',
        describe: 'bisect: promote what bisect names, round after round; sensitivity: rank every layer alone, promote the worst first',
      })
      .option('max-promotions', {
        type: 'number',
        describe: `Regions promoted at most, before pruning (default ${DEFAULT_MAX_PROMOTIONS}; when the default runs out short of a reachable target, fix promotes everything and prunes down instead)`,
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'Plan file to write (default: beside the --emit model as FILE.plan.json, else dumps/<model>.fix-plan.json)',
      })
      .option('emit', {
        type: 'string',
        describe: 'Also write and verify the fixed model: FILE.onnx (with .quant.json and .manifest.json beside it)',
      }) as unknown as Argv<FixArgs>,
  handler: async (args: ArgumentsCamelCase<FixArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const options = {
        target: args.target,
        peak: args.peak,
        strategy: args.strategy,
        maxPromotions: args['max-promotions'] ?? args.maxPromotions,
        planOut: args.out,
        emit: args.emit,
      };
      checkFixOptions(options);
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const evaluation = await evaluationContexts(ctx, args.eval);
      const maxMemory = maxMemoryOf(args);
      for (const c of [ctx, ...evaluation]) planMemoryUse(c, 'probe', maxMemory); // before calibrating
      const quant = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
      const report = await fix({ ctx, quant, ...options, evaluation, maxMemory, onProgress, signal });
      if (args.json) printJson(report);
      else print(withFindings(formatFix(report), report.findings, { color: process.stdout.isTTY === true }));
      if (!report.met) return ExitCode.qualityGate;
    } finally {
      release();
    }
  },
};

function regionText(r: Region): string {
  const why =
    r.reason === 'producers'
      ? `upstream of ${displayName(r.culprit, 40)}`
      : r.reason === 'culprit'
        ? 'culprit'
        : r.reason === 'ceiling'
          ? 'everything'
          : 'ranked';
  return `${r.changes.map((c) => `${displayName(c.node, 40)} (${c.opType}) ${c.from}->${c.to}`).join(', ')}  [${why}]`;
}

/** The fix result for people: verdict, before/after, promotions, cost, files. */
export function formatFix(r: FixReport): string {
  const goal = parseGoal(r.target, '--target', r.peak);
  const lines: string[] = [];
  const regions = r.regions.length;
  const reachable =
    r.reachable === null || r.reachableMetric === null ? '' : `${r.reachableMetric} ${formatMetric(r.reachableMetric, r.reachable)}`;
  const verdict = r.met
    ? regions === 0
      ? 'already met, nothing promoted'
      : `met with ${regions} promotion(s)${r.descended ? ' (promoting up fell short, so everything was promoted and pruned down)' : ''}`
    : r.stop === 'unreachable'
      ? `NOT met, and out of reach: with every quantized op at INT16 and every float op at FP32 the worst output reaches ${reachable}, so no promotion was tried`
      : `NOT met (${r.stop === 'budget' ? 'the promotion budget is spent' : 'nothing left to promote'})`;
  const peak = goal.targets.some((t) => t.metric === 'psnrDb') ? `, PSNR peak ${r.peak === null ? 'max |x|' : r.peak}` : '';
  lines.push(
    `target ${r.target} (${r.profile}, strategy ${r.strategy}${peak}): ${verdict}; ${r.quantRuns} quant runs in ${r.seconds.toFixed(1)} s`,
  );
  if (reachable !== '' && r.stop !== 'unreachable') lines.push(`reachable: ${reachable} with everything promoted`);
  if (r.stop === 'unreachable')
    lines.push(
      'to go further: calibrate on more representative inputs, try --method mse or entropy, or set a target the INT16 plan reaches',
    );
  const metrics = [...new Set(goal.targets.map((t) => t.metric))];
  const shown = (m: FixReport['outputs'][number]['metrics']): string =>
    `${metrics.map((metric) => `${metric} ${formatMetric(metric, conditionValue(m, { metric, op: '>=', value: 0 }, r.peak))}`).join(', ')}${metrics.includes('cosine') ? '' : `, cosine ${formatMetric('cosine', m.cosine)}`}${m.nonFiniteIntroduced > 0 ? `, ${m.nonFiniteIntroduced} NaN/Inf` : ''}`;
  for (const before of r.before) {
    const after = r.outputs.find((o) => o.tensor === before.tensor);
    lines.push(`  '${displayName(before.tensor, 40)}': ${shown(before.metrics)} -> ${after ? shown(after.metrics) : '-'}`);
  }
  if (r.evaluation.inputs.length > 1) {
    lines.push(`evaluation: ${r.evaluation.inputs.length} inputs; the worst output of each, before -> after:`);
    const worst = (outputs: FixReport['outputs']) =>
      outputs.reduce((w, o) => (bindingCondition(o.metrics, goal).margin < bindingCondition(w.metrics, goal).margin ? o : w));
    r.evaluation.before.forEach((b, i) => {
      const a = r.evaluation.after[i];
      lines.push(`  ${displayName(b.input, 60)}: ${shown(worst(b.outputs).metrics)} -> ${a ? shown(worst(a.outputs).metrics) : '-'}`);
    });
  }
  if (r.evaluation.warning) lines.push(`warning: ${r.evaluation.warning}`);
  if (regions > 0) {
    lines.push('promoted:');
    for (const region of r.regions) lines.push(`  ${regionText(region)}`);
  }
  if (r.pruned.length > 0) lines.push(`pruned (promoted on the way, not needed): ${r.pruned.map(regionLabel).join(', ')}`);
  if (r.lowered.length > 0)
    lines.push(`lowered to a16w8 (16-bit activations, 8-bit weights suffice): ${r.lowered.map(regionLabel).join(', ')}`);
  const c = r.cost;
  lines.push(
    `cost: ${(100 * c.macShareAboveInt8).toFixed(1)}% of MACs and ${(100 * c.weightShareAboveInt8).toFixed(1)}% of weights above INT8 (weights ${c.weightBytes} bytes vs ${c.weightBytesAllInt8} all-INT8)${c.device ? `; device cost ${c.device.ratio.toFixed(2)}x the all-INT8 plan (the profile's cost table)` : ''}`,
  );
  lines.push(`plan: ${r.plan}`);
  if (r.emitted) lines.push(`emitted and verified: ${r.emitted.model} (+ ${r.emitted.quant}, ${r.emitted.manifest})`);
  return lines.join('\n');
}
