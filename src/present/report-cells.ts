import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { conditionValue, parseGoal } from '../analysis/gate.js';
import { formatMetric, formatTarget, higherIsBetter, metricValue, type MetricName, type Metrics } from '../analysis/metrics.js';
import { displayName } from '../core/closest.js';
import { formatDims } from '../core/tensor.js';

/**
 * The text of a report's cells, shared by the terminal table and the Markdown report. Every name
 * passes through displayName, so control characters and escape sequences in a hostile tensor
 * name are shown as `\x1b` and never reach a terminal.
 */

export interface Column {
  readonly header: string;
  readonly align: 'left' | 'right';
  /** The narrowest the column may be made to fit a width, its cells wrapped (names); undefined: never narrowed. */
  readonly minWidth?: number;
  /** Columns with a dropOrder are left out of a too narrow table, lowest first (the node name mostly repeats the tensor name). */
  readonly dropOrder?: number;
  readonly cell: (row: ComparisonRow, report: ComparisonReport) => string;
}

/** Cuts already escaped text to at most `max` characters by replacing its middle with an ellipsis (the ends of ONNX names say most). */
export function cutMiddle(shown: string, max: number): string {
  const chars = [...shown];
  if (chars.length <= max) return shown;
  if (max <= 1) return '…'.slice(0, max);
  const head = Math.ceil((max - 1) / 2);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(chars.length - tail).join('') : ''}`;
}

/** Characters after which a name or a shape is best broken: path, word and list separators. */
const BREAK_AFTER = new Set(['/', '_', '.', '-', ',', ':', ' ', ';']);

/** Whether a line may end just before `chars[k]`: after a separator, or between the words of camelCase. */
function breaksBefore(chars: readonly string[], k: number): boolean {
  const before = chars[k - 1];
  return BREAK_AFTER.has(before) || (/\p{Ll}/u.test(before) && /\p{Lu}/u.test(chars[k]));
}

/**
 * Already escaped text in lines of at most `width` characters, joined by newlines, for a table
 * cell that wraps instead of cutting: every character is kept. A line ends at the last break
 * (after `/ _ . - , : ;` or a space, or between camelCase words) past its first third when
 * there is one, else at the width.
 */
export function wrapCell(shown: string, width: number): string {
  const chars = [...shown];
  if (width < 1 || chars.length <= width) return shown;
  const lines: string[] = [];
  let start = 0;
  while (chars.length - start > width) {
    let end = start + width;
    for (let k = end; k >= start + Math.ceil(width / 3); k--) {
      if (breaksBefore(chars, k)) {
        end = k;
        break;
      }
    }
    lines.push(chars.slice(start, end).join(''));
    start = end;
  }
  lines.push(chars.slice(start).join(''));
  return lines.join('\n');
}

function metricCell(name: MetricName): (row: ComparisonRow) => string {
  return (row) => (row.metrics ? formatMetric(name, metricValue(row.metrics, name)) : '-');
}

const BASE_METRICS: readonly MetricName[] = ['cosine', 'snrDb', 'maxAbs', 'relL2'];
const DROP_ORDER: Partial<Record<MetricName, number>> = { relL2: 3, maxAbs: 4 };
const HEADERS: Partial<Record<MetricName, string>> = {
  cosine: 'cosine',
  snrDb: 'SNR dB',
  maxAbs: 'max abs',
  relL2: 'relL2',
  psnrDb: 'PSNR dB',
};

/** The pass cell's text: 'pass', 'FAIL', or 'FAIL nan' when y has NaN/Inf where x is finite. */
export function passText(row: ComparisonRow): string {
  if (row.pass) return 'pass';
  if (row.metrics && row.metrics.nonFiniteIntroduced > 0) return 'FAIL nan';
  return 'FAIL';
}

/** The columns of a report: #, op type, node, tensor, shape, cosine, SNR, max abs, relL2, [the report's metric], own, verdict, pass. */
export function reportColumns(report: ComparisonReport): Column[] {
  const metrics = BASE_METRICS.includes(report.metric) ? BASE_METRICS : [...BASE_METRICS, report.metric];
  const hasOwn = report.rows.some((r) => r.own !== undefined);
  const hasVerdict = report.rows.some((r) => r.verdict !== undefined && r.verdict !== null);
  const columns: Column[] = [
    { header: '#', align: 'right', cell: (r) => String(r.index) },
    { header: 'op type', align: 'left', minWidth: 13, cell: (r) => displayName(r.opType, 4096) },
    { header: 'node', align: 'left', minWidth: 12, dropOrder: 1, cell: (r) => displayName(r.node, 4096) },
    { header: 'tensor', align: 'left', minWidth: 12, cell: (r) => displayName(r.tensor, 4096) },
    // A shape is never narrowed: whole, or left out.
    { header: 'shape', align: 'left', dropOrder: 5, cell: (r) => formatDims(r.shape) },
    ...metrics.map((m): Column => ({ header: HEADERS[m] ?? m, align: 'right', dropOrder: DROP_ORDER[m], cell: metricCell(m) })),
  ];
  if (hasOwn) {
    columns.push({ header: 'own', align: 'right', dropOrder: 2, cell: (r) => (r.own ? formatMetric('cosine', r.own.cosine) : '-') });
  }
  if (hasVerdict) columns.push({ header: 'verdict', align: 'left', dropOrder: 6, cell: (r) => r.verdict ?? '' });
  columns.push({ header: 'pass', align: 'left', cell: passText });
  return columns;
}

/** The report's criterion in words, e.g. "snrDb >= 30, outputs also psnrDb >= 40 (peak max |x|)". */
export function criterionText(report: Pick<ComparisonReport, 'metric' | 'threshold' | 'outputGoal'>): string {
  const head = formatTarget({ metric: report.metric, op: higherIsBetter(report.metric) ? '>=' : '<=', value: report.threshold }).replace(
    /(>=|<=)/,
    ' $1 ',
  );
  const goal = report.outputGoal;
  if (!goal) return head;
  const extra = parseGoal(goal.text, 'target', goal.peak)
    .targets.filter((t) => !(t.metric === report.metric && t.value === report.threshold))
    .map((t) => formatTarget(t).replace(/(>=|<=)/, ' $1 '));
  return extra.length === 0 ? head : `${head}, outputs also ${extra.join(', ')} (PSNR peak ${goal.peak === null ? 'max |x|' : goal.peak})`;
}

/** An output's values of its goal's conditions, e.g. "snrDb 33.20, psnrDb 39.46"; the report's metric alone without a goal. */
export function goalValuesText(m: Metrics, report: Pick<ComparisonReport, 'metric' | 'outputGoal'>): string {
  const goal = report.outputGoal;
  const targets = goal ? parseGoal(goal.text, 'target', goal.peak).targets : [{ metric: report.metric, op: '>=' as const, value: 0 }];
  const metrics = [...new Set(targets.map((t) => t.metric))];
  return metrics
    .map((metric) => `${metric} ${formatMetric(metric, conditionValue(m, { metric, op: '>=', value: 0 }, goal?.peak ?? null))}`)
    .join(', ');
}

export interface SummaryEscapes {
  /** Shows a name (default displayName). */
  readonly quote?: (name: string) => string;
  /** Shows free text such as an error message (default as is). */
  readonly text?: (text: string) => string;
}

/** Summary sentences naming the first failing tensor and the worst source (names escaped, not cut). */
export function summaryLines(report: ComparisonReport, escape: SummaryEscapes = {}): string[] {
  const quote = escape.quote ?? ((n: string) => displayName(n));
  const text = escape.text ?? ((t: string) => t);
  const compared = report.rows.filter((r) => r.metrics !== null);
  const failing = compared.filter((r) => !r.pass).length;
  const uncompared = report.rows.length - compared.length;
  const lines = [
    uncompared === 0
      ? `${report.rows.length} tensors compared, ${failing} failing ${criterionText(report)}.`
      : `${compared.length} of ${report.rows.length} tensors compared, ${failing} failing ${criterionText(report)}; ${uncompared} not compared.`,
  ];
  const first = report.firstFailing === null ? undefined : report.rows.find((r) => r.tensor === report.firstFailing);
  const ev = report.evaluation;
  if (ev) lines.push(`Over ${ev.inputs.length} evaluation inputs; each row is the tensor on the input where it is worst.`);
  if (report.outputGoal || ev) {
    for (const o of report.outputs) {
      const row = report.rows.find((r) => r.tensor === o);
      const where = ev && row?.worstInput !== undefined ? ` (worst on ${quote(ev.inputs[row.worstInput])})` : '';
      if (row?.metrics) lines.push(`Output ${quote(o)}: ${goalValuesText(row.metrics, report)}: ${row.pass ? 'pass' : 'FAIL'}${where}.`);
    }
  }
  if (ev) {
    for (const p of ev.perInput) {
      const outs = p.outputs
        .map((o) => `${quote(o.tensor)} ${o.metrics ? goalValuesText(o.metrics, report) : '-'} ${o.pass ? 'pass' : 'FAIL'}`)
        .join('; ');
      lines.push(`  ${quote(p.input)}: ${p.failing} failing; ${outs}.`);
    }
    const mean = ev.mean
      .map(
        (m) =>
          `${quote(m.tensor)} cosine ${formatMetric('cosine', m.cosine)}, snrDb ${formatMetric('snrDb', m.snrDb)}, psnrDb ${formatMetric('psnrDb', m.psnrDb)}`,
      )
      .join('; ');
    lines.push(`  mean over the inputs: ${mean}.`);
  }
  if (report.firstFailing !== null) {
    // A row has no node or op type when dump directories were compared without a model.
    const where = first
      ? [first.node !== '' ? `node ${quote(first.node)}` : '', first.opType !== '' ? quote(first.opType) : '', `#${first.index}`].filter(
          (p) => p !== '',
        )
      : [];
    lines.push(`First failing tensor: ${quote(report.firstFailing)}${where.length > 0 ? ` (${where.join(', ')})` : ''}.`);
  } else if (compared.length === 0) lines.push('No tensor could be compared.');
  else lines.push(uncompared > 0 ? 'No compared tensor fails.' : 'No tensor fails.');
  if (report.worstSource !== null) lines.push(`Worst source: ${quote(report.worstSource)}.`);
  const p = report.perturbation;
  if (p) {
    lines.push(
      `Tap perturbation at ${quote(p.output)}: ${p.metric} ${formatMetric(p.metric, p.withTaps)} with taps, ${formatMetric(p.metric, p.withoutTaps)} without.`,
    );
  }
  const a = report.achievable;
  if (a)
    lines.push(`${quote(a.label)} reaches ${report.metric} ${formatMetric(report.metric, a.value)} at the outputs on the same inputs.`);
  if (report.inSample) lines.push(`Warning: ${text(report.inSample)}`);
  for (const r of report.rows) if (r.error) lines.push(`Not compared: ${quote(r.tensor)}: ${text(displayName(r.error, 300))}`);
  return lines;
}
