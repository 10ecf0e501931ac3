import type { ValueDistribution } from '../analysis/distribution.js';
import { formatNumber, formatPercent } from './format.js';
import type { PaneLine, PaneTone, Span } from './pane-text.js';

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const GUTTER = 8;

/** Bins merged per column so the histogram fits: 1, 2, 4... (the bins are a power of two). */
export function binsPerColumn(bins: number, columns: number): number {
  let k = 1;
  while (bins / k > Math.max(1, columns) && k < bins) k *= 2;
  return k;
}

/** Counts summed over groups of `k` consecutive bins (the last group may be shorter). */
export function mergeBins(counts: readonly number[], k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i += k) out.push(counts.slice(i, i + k).reduce((a, b) => a + b, 0));
  return out;
}

/**
 * Column heights in eighths of a line, `rows` lines high: count/max of the taller of the two
 * histograms (both share one scale), rounded, and at least one eighth for any non-zero count so
 * that a few stray values still show.
 */
export function barHeights(counts: readonly number[], max: number, rows: number): number[] {
  const full = rows * 8;
  return counts.map((c) => (c <= 0 || max <= 0 ? 0 : Math.max(1, Math.round((c / max) * full))));
}

/** The `rows` lines of bars of the given heights (eighths), top line first. */
export function barRows(heights: readonly number[], rows: number): string[] {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const floor = (rows - 1 - r) * 8;
    out.push(heights.map((h) => (h - floor <= 0 ? ' ' : LEVELS[Math.min(8, h - floor) - 1])).join(''));
  }
  return out;
}

const share = (count: number, total: number): number => (total > 0 ? count / total : 0);

/**
 * The value histograms of a compared tensor: float above quant on one scale, `rows` lines each,
 * one column per bin (or per 2, 4... bins on a narrow screen), the bin range labelled under
 * them with 0 marked, then in words where the quant values pile up: the bin with the largest
 * excess of quant over float share (from half a percent of the values), and the end bins when
 * quant holds more than twice float's share there (clipping at the range's ends).
 */
export function histogramLines(d: ValueDistribution, width: number, rows = 3): PaneLine[] {
  const bins = d.ref.length;
  const k = binsPerColumn(bins, width - GUTTER);
  const ref = mergeBins(d.ref, k);
  const test = mergeBins(d.test, k);
  const max = Math.max(0, ...ref, ...test);
  const step = (d.hi - d.lo) / bins;
  const lines: PaneLine[] = [];
  const per = k > 1 ? `, ${k} bins a column` : '';
  lines.push([
    { text: `values: ${bins} bins of ${formatNumber(step)} over ${formatNumber(d.lo)}..${formatNumber(d.hi)}${per}`, tone: 'head' },
  ]);
  const side = (name: string, counts: number[], tone: PaneTone): void => {
    barRows(barHeights(counts, max, rows), rows).forEach((bars, r) => {
      lines.push([
        { text: `${r === rows - 1 ? name : ''}`.padEnd(GUTTER - 1) + '│', tone: 'dim' },
        { text: bars, tone },
      ]);
    });
  };
  side('float', ref, 'ref');
  side('quant', test, 'test');
  const columns = ref.length;
  const zero = d.lo < 0 && d.hi > 0 ? Math.min(columns - 1, Math.floor(-d.lo / (step * k))) : -1;
  lines.push([
    { text: ' '.repeat(GUTTER - 1) + '└' + [...Array(columns).keys()].map((c) => (c === zero ? '┴' : '─')).join(''), tone: 'dim' },
  ]);
  lines.push([{ text: ' '.repeat(GUTTER) + axisLabels(formatNumber(d.lo), formatNumber(d.hi), zero, columns), tone: 'dim' }]);
  lines.push(...pileUpNotes(d));
  return lines;
}

/** lo at the left, hi at the right end, 0 under its column when there is room. */
function axisLabels(lo: string, hi: string, zero: number, columns: number): string {
  const cells = Array<string>(Math.max(columns, lo.length + hi.length + 1)).fill(' ');
  const put = (at: number, text: string): void => [...text].forEach((ch, i) => (cells[at + i] = ch));
  put(0, lo);
  put(cells.length - hi.length, hi);
  if (zero > lo.length && zero < cells.length - hi.length - 1) put(zero, '0');
  return cells.join('');
}

/** The sentences under the histograms: the quant pile-up and clipping at either end. */
export function pileUpNotes(d: ValueDistribution): PaneLine[] {
  const bins = d.ref.length;
  const refTotal = d.ref.reduce((a, b) => a + b, 0);
  const testTotal = d.test.reduce((a, b) => a + b, 0);
  if (refTotal === 0 || testTotal === 0) return [[{ text: `finite values: float ${refTotal}, quant ${testTotal}`, tone: 'dim' }]];
  const step = (d.hi - d.lo) / bins;
  const range = (b: number): string => `${formatNumber(d.lo + b * step)}..${formatNumber(b === bins - 1 ? d.hi : d.lo + (b + 1) * step)}`;
  const out: PaneLine[] = [];
  let worst = -1;
  let excess = 0.005;
  for (let b = 0; b < bins; b++) {
    const e = share(d.test[b], testTotal) - share(d.ref[b], refTotal);
    if (e >= excess) {
      excess = e;
      worst = b;
    }
  }
  if (worst >= 0) {
    out.push(
      note(
        `quant piles up in ${range(worst)}: ${formatPercent(share(d.test[worst], testTotal))} of its values, float ${formatPercent(share(d.ref[worst], refTotal))}`,
        'warn',
      ),
    );
  } else {
    out.push(note('quant follows the float distribution (no bin holds half a percent more of its values)', 'dim'));
  }
  for (const [b, end] of [
    [0, 'low'],
    [bins - 1, 'high'],
  ] as const) {
    const q = share(d.test[b], testTotal);
    const f = share(d.ref[b], refTotal);
    if (q > 2 * f && q >= 0.005) {
      out.push(
        note(
          `quant spikes at the ${end} end (clipping): ${range(b)} holds ${formatPercent(q)} of its values, float ${formatPercent(f)}`,
          'fail',
        ),
      );
    }
  }
  return out;
}

function note(text: string, tone: PaneTone): Span[] {
  return [{ text, tone }];
}
