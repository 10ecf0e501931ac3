import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { displayName } from '../core/closest.js';
import { channelLines } from './channel-lines.js';
import { detailLines } from './detail-lines.js';
import { formatShape, safeText } from './format.js';
import { histogramLines } from './histogram-lines.js';
import { columnsRow, wrapLine, type PaneLine } from './pane-text.js';

const LABEL_WIDTH = 16;
/** Names are shown whole: the pane wraps them. */
const FULL = Number.POSITIVE_INFINITY;

/**
 * Every line of a tensor's detail, wrapped to `width` so nothing is cut: the tensor and its
 * node, the metrics (accumulated beside own, each cell wrapped in its column), then the value
 * histograms and the per-channel ranges when the report has them. The detail view shows a
 * window of these lines (detail-scroll.ts).
 */
export function detailPane(report: ComparisonReport, cursor: number, width: number): PaneLine[] {
  const row = report.rows[cursor];
  if (!row) return [];
  const first = report.firstFailing === row.tensor;
  const lines: PaneLine[] = [];
  const add = (line: PaneLine, indent = 2): void => {
    lines.push(...wrapLine(line, width, indent));
  };
  add([
    { text: row.pass ? '✓ ' : '✗ ', tone: row.pass ? 'pass' : 'fail' },
    { text: displayName(row.tensor, FULL), tone: first ? 'first' : 'bold' },
    { text: ` (${cursor + 1} of ${report.rows.length}${first ? ', first failing' : ''})`, tone: 'dim' },
  ]);
  add([{ text: nodeText(row), tone: 'dim' }]);
  lines.push(...metricLines(row, width));
  const d = row.distribution;
  if (row.metrics && !d) {
    lines.push([]);
    const why = d === null ? 'neither side has a finite value' : 'this report was written before quantscope kept them';
    add([{ text: `value histograms: none, ${why}`, tone: 'dim' }]);
  }
  if (d) {
    lines.push([]);
    for (const l of histogramLines(d, width)) add(l);
    const channels = channelLines(d, width);
    if (channels.length > 0) lines.push([]);
    for (const l of channels) add(l, 4);
  }
  return lines;
}

function nodeText(row: ComparisonRow): string {
  const parts = [
    `node ${displayName(row.node || '(input)', FULL)}`,
    `${row.opType || 'input'} #${row.index}`,
    `${formatShape(row.shape)} ${row.dtype}`,
    ...(row.verdict ? [row.verdict] : []),
    ...(row.error ? [safeText(row.error)] : []),
  ];
  return parts.join(' · ');
}

/** The metrics as three columns, label, accumulated and own; a value too long for its column wraps inside it. */
function metricLines(row: ComparisonRow, width: number): PaneLine[] {
  const value = Math.max(8, Math.floor((width - LABEL_WIDTH) / 2));
  const label = Math.max(1, Math.min(LABEL_WIDTH, width - 2 * value));
  const out: PaneLine[] = [];
  const head = columnsRow([
    { text: '', width: label },
    { text: 'accumulated', width: value, tone: 'head' },
    { text: 'own', width: value, tone: 'head' },
  ]);
  out.push(...head);
  for (const l of detailLines(row)) {
    out.push(
      ...columnsRow([
        { text: l.label, width: label, tone: 'dim' },
        { text: l.accumulated, width: value, ...(l.alarm ? { tone: 'fail' as const } : {}) },
        { text: l.own, width: value },
      ]),
    );
  }
  return out;
}
