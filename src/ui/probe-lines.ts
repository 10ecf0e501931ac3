import type { BisectView, FixView, MeasuredTensor, ProbeView } from '../app/session/session-jobs.js';
import { higherIsBetter, type MetricName } from '../analysis/metrics-target.js';
import { displayName } from '../core/closest.js';
import { formatAgainst, formatMetric, formatPercent } from './format.js';

export type LineTone = 'plain' | 'good' | 'bad' | 'dim' | 'accent';

export interface ToneLine {
  readonly text: string;
  readonly tone: LineTone;
}

/** The threshold as the screens print it: 4 significant digits, `≥30`, `≥0.999`, `≤0.05`. */
function condition(p: { comparison: '≥' | '≤'; threshold: number }): string {
  return `${p.comparison}${Number(p.threshold.toPrecision(4))}`;
}

/** What a promotion changed: `fuse_conv int8→int16`, its region node by node. */
function regionText(region: readonly { node: string; from: string; to: string }[]): string {
  return region.map((r) => `${displayName(r.node, 24)} ${r.from}→${r.to}`).join(', ');
}

/**
 * A probe as table cells: the value with the verdict and the condition it was judged by
 * (`FAIL ≥30` reads "fails snrDb ≥ 30"); a promotion names its region and the outputs before →
 * after; a probe without a value says why.
 */
export function probeCells(p: ProbeView): {
  step: string;
  range: string;
  tensor: string;
  op: string;
  value: string;
  verdict: string;
  tone: LineTone;
} {
  let tensor = displayName(p.tensor) + (p.note ? ` (${displayName(p.note, 30)})` : '');
  if (p.kind === 'promote' && p.region && p.region.length > 0) {
    const before = p.before === undefined ? '' : `: ${formatMetric(p.metric, p.before)} → ${formatMetric(p.metric, p.value)}`;
    tensor = `promote ${regionText(p.region)}${before}`;
  }
  if (p.reason) tensor += ` — ${p.reason}`;
  return {
    step: String(p.step),
    range: p.range,
    tensor,
    op: p.opType,
    value: formatAgainst(p.metric, p.value, p.threshold),
    verdict: `${p.pass === null ? '?' : p.pass ? 'pass' : 'FAIL'} ${condition(p)}`,
    tone: p.pass === null ? 'dim' : p.pass ? 'good' : 'bad',
  };
}

/** The probe under the cursor in one sentence, whole (the table row cuts long names): what it measured, where, and the verdict. */
export function probeSentence(p: ProbeView): string {
  const cells = probeCells(p);
  const where =
    p.kind === 'promote' ? cells.tensor : `${displayName(p.tensor)} (${p.opType}${p.note ? `, ${displayName(p.note, 60)}` : ''})`;
  const value = p.kind === 'promote' && p.before !== undefined ? '' : `: ${p.metric} ${cells.value}`;
  const reason = p.kind !== 'promote' && p.reason ? ` — ${p.reason}` : '';
  return `#${p.step} ${where}${value} · ${cells.verdict.replace(/ ([≥≤])/, ` ${p.metric} $1 `)}${reason}`;
}

function measured(metric: MetricName, m: MeasuredTensor): string {
  return `${displayName(m.tensor, 30)} ${formatMetric(metric, m.value)} ${m.pass ? '✓' : '✗'}`;
}

function overridesText(list: readonly (readonly [string, string])[]): string {
  return list.map(([s, p]) => `${displayName(s, 30)}=${p}`).join(', ');
}

/** The last line: the plan applied, offered on Enter, or found on an earlier plan or settings (`outdated` says which). */
function applyLine(list: readonly (readonly [string, string])[], applied: boolean, outdated: string | null, again: string): ToneLine {
  if (applied) return { text: `applied: ${overridesText(list)}`, tone: 'good' };
  if (outdated) return { text: `found ${outdated}; ${again} runs it again · plan: ${overridesText(list)}`, tone: 'dim' };
  return { text: `Enter applies the plan: ${overridesText(list)}`, tone: 'accent' };
}

/** The lines under the probe list once a bisect has finished. */
export function bisectLines(r: BisectView, applied: boolean, outdated: string | null = null): ToneLine[] {
  const op = higherIsBetter(r.metric) ? '≥' : '≤';
  const lines: ToneLine[] = [];
  if (r.culprit) {
    lines.push({
      text: `culprit ${displayName(r.culprit.node, 50)} (${r.culprit.opType}) → ${displayName(r.culprit.tensor, 40)}`,
      tone: 'bad',
    });
  } else {
    lines.push({ text: `no failing tensor: every candidate meets ${r.metric} ${op} ${Number(r.threshold.toPrecision(4))}`, tone: 'good' });
  }
  if (r.output) lines.push({ text: `${r.culprit ? 'at the culprit' : 'output'} ${measured(r.metric, r.output)}`, tone: 'plain' });
  if (r.region && r.region.fused.length > 1) lines.push({ text: r.region.text, tone: 'accent' });
  if (r.inputs.length > 0) lines.push({ text: `inputs ${r.inputs.map((i) => measured(r.metric, i)).join(', ')}`, tone: 'plain' });
  const pert = r.perturbation
    ? ` · tap effect on ${displayName(r.perturbation.output, 20)}: ${formatMetric(r.perturbation.metric, r.perturbation.withoutTaps)} → ${formatMetric(r.perturbation.metric, r.perturbation.withTaps)}`
    : '';
  lines.push({ text: `${r.searchNote ?? `threshold ${r.metric} ${op} ${Number(r.threshold.toPrecision(4))}`}${pert}`, tone: 'dim' });
  lines.push({ text: r.summary, tone: 'plain' });
  if (r.suggested.length > 0) lines.push(applyLine(r.suggested, applied, outdated, 'b'));
  return lines;
}

/** The lines under the probe list once a fix has finished. */
export function fixLines(r: FixView, applied: boolean, outdated: string | null = null): ToneLine[] {
  const lines: ToneLine[] = [
    {
      text: `target ${r.goal.replace(/>=/g, ' ≥ ').replace(/<=/g, ' ≤ ').replace(/,/g, ', ')}: ${r.reached ? 'reached' : 'NOT reached'}`,
      tone: r.reached ? 'good' : 'bad',
    },
    { text: `promoted ${r.promoted.length === 0 ? 'nothing' : r.promoted.map((n) => displayName(n, 30)).join(', ')}`, tone: 'plain' },
    { text: `cost: ${formatPercent(r.macShare)} of MACs and ${formatPercent(r.weightShare)} of weight bytes above INT8`, tone: 'dim' },
  ];
  if (r.outputs.length > 0) lines.push({ text: `outputs ${r.outputs.map((o) => measured(r.metric, o)).join(', ')}`, tone: 'plain' });
  lines.push({ text: r.summary, tone: 'plain' });
  if (r.overrides.length > 0) lines.push(applyLine(r.overrides, applied, outdated, 'f'));
  return lines;
}
