import type { FixReport } from '../app/fix.js';
import { regionLabel, type Region } from '../quant/promotion-regions.js';
import { bindingCondition, conditionValue, parseGoal } from '../analysis/gate.js';
import { formatMetric } from '../analysis/metrics.js';
import { displayName } from '../core/closest.js';

/** The fix result in words, as the CLI prints it. */

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
