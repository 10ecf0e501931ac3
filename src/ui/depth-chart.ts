import { brailleChar, DotGrid } from './braille.js';

/** What a chart cell means, for the component to colour; the characters alone carry it too. */
export type ChartTone = 'pass' | 'fail' | 'threshold' | 'axis' | 'label' | 'cursor';

/** One line of the chart: `text` has exactly one tone per code point. */
export interface ChartLine {
  readonly text: string;
  readonly tones: readonly (ChartTone | null)[];
}

export interface DepthChart {
  readonly lines: readonly ChartLine[];
  /** Code-point column of the cursor's row in every line, null when the cursor is not shown. */
  readonly cursorColumn: number | null;
  /** The rows shown: [from, to). */
  readonly from: number;
  readonly to: number;
}

export interface DepthChartInput {
  /** The metric per row, in row (topological) order; null where a row has no value. */
  readonly values: readonly (number | null)[];
  readonly fails: readonly boolean[];
  /** The label of each row on the x axis (the table's index column). */
  readonly indices: readonly number[];
  readonly cursor: number;
  /** 1, 4 or 16 (CHART_ZOOMS): a zoomed chart shows count/zoom rows around the cursor. */
  readonly zoom: number;
  /** The pass/fail line, when the shown metric is the report's gate metric. */
  readonly threshold: number | null;
  readonly higherIsBetter: boolean;
  /** Scale by log10 (error metrics spanning decades); used only when every shown finite value is > 0. */
  readonly log: boolean;
  /** Text of a metric value (the table's format). */
  readonly format: (value: number) => string;
  /** The metric's short name, on the label line. */
  readonly label: string;
  readonly width: number;
  /** Lines, at least 3: the plot rows, the axis line and the label line. */
  readonly height: number;
}

export const CHART_ZOOMS: readonly number[] = [1, 4, 16];

/** The zoom after `zoom` in CHART_ZOOMS, back to 1 after the last. */
export function nextZoom(zoom: number): number {
  return CHART_ZOOMS[(CHART_ZOOMS.indexOf(zoom) + 1) % CHART_ZOOMS.length];
}

/** The rows a chart zoomed `zoom` times shows: ⌈count/zoom⌉ rows centred on the cursor, clamped at the ends. */
export function chartWindow(count: number, cursor: number, zoom: number): { from: number; to: number } {
  if (count <= 0) return { from: 0, to: 0 };
  const shown = Math.min(count, Math.max(1, Math.ceil(count / Math.max(1, zoom))));
  const c = Math.max(0, Math.min(count - 1, cursor));
  const from = Math.max(0, Math.min(count - shown, c - Math.floor(shown / 2)));
  return { from, to: from + shown };
}

const MARK_UP = '↑';
const MARK_DOWN = '↓';
const MARK_NAN = '×';

/**
 * A braille dot chart of a metric along depth. The plot is the top `height − 2` lines: a y axis
 * labelled with the largest and smallest finite value shown (and the threshold on its row), and
 * row i of the window [from, to) of n rows at dot column ⌊(i − from)·D/n⌋ of D = 2·cells,
 * consecutive finite rows joined by a line (connect). Heights are linear (or log10)
 * between the shown finite extremes: row value v lands on dot row round((hi − v)/(hi − lo)·(R−1))
 * of R = 4·plot rows (all equal: the middle row). Non-finite values never enter the scale: +Inf
 * is `↑` in the top line, −Inf `↓` in the bottom line, NaN `×` at the bad end (bottom when
 * higher is better). The threshold is `┈` in the empty cells of its line, the cursor's column
 * `┊` in its empty cells. The axis line below marks each cell column holding a failing row `✗`
 * and the cursor's column `▲`; the label line gives the first and last row's index and between
 * them the metric, the zoom and what the marks mean.
 */
export function depthChart(input: DepthChartInput): DepthChart {
  const height = Math.max(3, input.height);
  const plotRows = height - 2;
  const dotRows = plotRows * 4;
  const count = input.values.length;
  const { from, to } = chartWindow(count, input.cursor, input.zoom);
  const n = to - from;

  const finite: number[] = [];
  for (let i = from; i < to; i++) {
    const v = input.values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) finite.push(v);
  }
  const useLog = input.log && finite.length > 0 && finite.every((v) => v > 0);
  const scale = (v: number): number => (useLog ? Math.log10(v) : v);
  const lo = finite.length > 0 ? Math.min(...finite) : Number.NaN;
  const hi = finite.length > 0 ? Math.max(...finite) : Number.NaN;
  const slo = scale(lo);
  const shi = scale(hi);
  const dotRow = (v: number): number =>
    shi > slo ? Math.round(((shi - scale(v)) / (shi - slo)) * (dotRows - 1)) : Math.floor((dotRows - 1) / 2);

  const t = input.threshold;
  const thresholdDrawn = t !== null && Number.isFinite(t) && shi > slo && (!useLog || t > 0) && scale(t) >= slo && scale(t) <= shi;
  const thresholdRow = thresholdDrawn ? Math.floor(dotRow(t) / 4) : -1;

  const top = finite.length > 0 ? input.format(hi) : '';
  const bottom = finite.length > 0 ? input.format(lo) : '';
  const rowLabel = (r: number): string => {
    if (r === 0) return top;
    if (r === plotRows - 1) return bottom;
    if (r === thresholdRow && t !== null) return input.format(t);
    return '';
  };
  const labelWidth = Math.max(1, top.length, bottom.length, thresholdDrawn && t !== null ? input.format(t).length : 0);
  const gutter = labelWidth + 2;
  const cells = Math.max(1, input.width - gutter);
  const dotColumns = cells * 2;
  const column = (i: number): number => Math.floor(((i - from) * dotColumns) / n);

  const grid = new DotGrid(dotColumns, dotRows);
  const cellFail = new Uint8Array(cells * plotRows);
  const marks = new Map<number, string>();
  const columnFails = new Uint8Array(cells);
  const present = new Set<string>();
  let prev: { x: number; y: number } | null = null;
  for (let i = from; i < to; i++) {
    const x = column(i);
    const c = Math.floor(x / 2);
    const fail = input.fails[i] === true;
    if (fail) columnFails[c] = 1;
    const v = input.values[i];
    if (v === null || v === undefined) {
      prev = null;
      continue;
    }
    if (Number.isFinite(v)) {
      const y = dotRow(v);
      if (prev) connect(grid, prev, { x, y });
      else grid.set(x, y);
      if (fail) cellFail[Math.floor(y / 4) * cells + c] = 1;
      prev = { x, y };
      continue;
    }
    prev = null;
    const mark = v === Infinity ? MARK_UP : v === -Infinity ? MARK_DOWN : MARK_NAN;
    const bottomEnd = v === -Infinity || (Number.isNaN(v) && input.higherIsBetter);
    const at = (bottomEnd ? plotRows - 1 : 0) * cells + c;
    present.add(mark);
    marks.set(at, mark);
    if (fail) cellFail[at] = 1;
  }

  const cursorIn = input.cursor >= from && input.cursor < to;
  const cursorCell = cursorIn ? Math.floor(column(input.cursor) / 2) : -1;
  const lines: ChartLine[] = [];
  for (let r = 0; r < plotRows; r++) {
    const label = rowLabel(r);
    const line = new LineBuilder();
    line.add(label.padStart(labelWidth), 'label');
    line.add(' ', null);
    line.add(label ? '┤' : '│', 'axis');
    for (let c = 0; c < cells; c++) {
      const at = r * cells + c;
      const tone: ChartTone = cellFail[at] ? 'fail' : 'pass';
      const mark = marks.get(at);
      const bits = grid.cell(c, r);
      if (mark !== undefined) line.add(mark, tone);
      else if (bits !== 0) line.add(brailleChar(bits), tone);
      else if (c === cursorCell) line.add('┊', 'cursor');
      else if (r === thresholdRow) line.add('┈', 'threshold');
      else line.add(' ', null);
    }
    lines.push(line.done());
  }

  const axis = new LineBuilder();
  axis.add(' '.repeat(labelWidth + 1), null);
  axis.add('└', 'axis');
  for (let c = 0; c < cells; c++) {
    if (c === cursorCell) axis.add('▲', 'cursor');
    else if (columnFails[c]) axis.add('✗', 'fail');
    else axis.add('─', 'axis');
  }
  lines.push(axis.done());
  lines.push(labelLine(input, { from, to, gutter, cells, thresholdDrawn, present }));
  return { lines, cursorColumn: cursorIn ? gutter + cursorCell : null, from, to };
}

/**
 * Draws the line from dot a to dot b (a.x <= b.x): each dot column after a.x gets the span from
 * the line's height at the previous column to its height here, so steep steps stay joined; in
 * one column (rows sharing it) the span from a.y to b.y.
 */
function connect(grid: DotGrid, a: { x: number; y: number }, b: { x: number; y: number }): void {
  if (b.x <= a.x) {
    grid.span(b.x, a.y, b.y);
    return;
  }
  const at = (x: number): number => Math.round(a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x));
  for (let x = a.x + 1; x <= b.x; x++) grid.span(x, at(x - 1), at(x));
}

/** The line under the axis: metric name, first and last index shown, and in between the zoom and the legend. */
function labelLine(
  input: DepthChartInput,
  o: { from: number; to: number; gutter: number; cells: number; thresholdDrawn: boolean; present: ReadonlySet<string> },
): ChartLine {
  const line = new LineBuilder();
  line.add(' '.repeat(o.gutter), null);
  if (o.to <= o.from) {
    line.add(fit(`${input.label}: no compared tensors`, o.cells).padEnd(o.cells), 'label');
    return line.done();
  }
  const left = `#${input.indices[o.from]}`;
  const right = o.to - o.from > 1 ? `#${input.indices[o.to - 1]}` : '';
  const count = input.values.length;
  const parts: string[] = [input.label];
  if (o.to - o.from < count) parts.push(`${input.zoom}x: ${o.to - o.from} of ${count}`);
  const t = input.threshold;
  if (t !== null) parts.push(`${o.thresholdDrawn ? '┈' : 'pass'} ${input.higherIsBetter ? '≥' : '≤'}${input.format(t)}`);
  if (o.present.has(MARK_UP)) parts.push(`${MARK_UP} +inf`);
  if (o.present.has(MARK_DOWN)) parts.push(`${MARK_DOWN} -inf`);
  if (o.present.has(MARK_NAN)) parts.push(`${MARK_NAN} NaN`);
  let middle = parts.join('  ');
  const room = o.cells - left.length - right.length - 2;
  while (parts.length > 0 && middle.length > room) {
    parts.pop();
    middle = parts.join('  ');
  }
  const free = Math.max(0, o.cells - left.length - right.length - middle.length);
  const before = Math.floor(free / 2);
  line.add(fit(left, o.cells), 'label');
  line.add(' '.repeat(before), null);
  line.add(middle, 'label');
  line.add(' '.repeat(Math.max(0, free - before)), null);
  if (left.length + right.length <= o.cells) line.add(right, 'label');
  return line.done();
}

function fit(text: string, width: number): string {
  return [...text].slice(0, Math.max(0, width)).join('');
}

/** Builds a line and its per-code-point tones. */
class LineBuilder {
  private text = '';
  private readonly tones: (ChartTone | null)[] = [];

  add(text: string, tone: ChartTone | null): void {
    this.text += text;
    for (let i = [...text].length; i > 0; i--) this.tones.push(tone);
  }

  done(): ChartLine {
    return { text: this.text, tones: this.tones };
  }
}
