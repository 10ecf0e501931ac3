import { describe, expect, it } from 'vitest';
import type { ComparisonReport, ComparisonRow } from '../src/analysis/comparison.js';
import type { ChannelRange, ValueDistribution } from '../src/analysis/distribution.js';
import { channelLines, rangeBar, worstChannelsFirst } from '../src/ui/channel-lines.js';
import { detailPane } from '../src/ui/detail-pane.js';
import { clampDetailScroll, detailPageHeight, detailScrollKey } from '../src/ui/detail-scroll.js';
import { barHeights, barRows, binsPerColumn, histogramLines, mergeBins, pileUpNotes } from '../src/ui/histogram-lines.js';
import { columnsRow, lineLength, wrapLine, wrapText, type PaneLine } from '../src/ui/pane-text.js';
import { demoReport } from './helpers/ui-fakes.js';

const text = (lines: readonly PaneLine[]): string[] => lines.map((l) => l.map((s) => s.text).join(''));

describe('pane text', () => {
  it('wraps at the last space that fits, cuts a word longer than the line, and loses nothing else', () => {
    expect(wrapText('alpha beta gamma', 11)).toEqual(['alpha beta', 'gamma']);
    expect(wrapText('alpha beta gamma', 10)).toEqual(['alpha beta', 'gamma']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('', 4)).toEqual(['']);
    // A space too early in the line (within its first quarter) is not worth a break.
    expect(wrapText('a bcdefghijklmnop', 8)).toEqual(['a bcdefg', 'hijklmno', 'p']);
    const long = `node ${'x/'.repeat(60)}conv · Conv #3 · 1x64x196x196 float32 · source`;
    const wrapped = wrapText(long, 40);
    for (const l of wrapped) expect([...l].length).toBeLessThanOrEqual(40);
    expect(wrapped.join(' ').replace(/ /g, '')).toBe(long.replace(/ /g, ''));
  });

  it('keeps tones across a break and indents continuation lines', () => {
    const lines = wrapLine(
      [
        { text: '✗ ', tone: 'fail' },
        { text: 'abcdefgh', tone: 'bold' },
      ],
      6,
      2,
    );
    expect(lines).toEqual([
      [
        { text: '✗ ', tone: 'fail' },
        { text: 'abcd', tone: 'bold' },
      ],
      [{ text: '  ' }, { text: 'efgh', tone: 'bold' }],
    ]);
    expect(lines.map(lineLength)).toEqual([6, 6]);
  });

  it('lays out columns, each cell wrapped inside its width', () => {
    const rows = columnsRow([
      { text: 'max |d| at', width: 12, tone: 'dim' },
      { text: '17.7 [0,0,13,6]', width: 9 },
      { text: 'own', width: 5 },
    ]);
    // '17.7 [0,0,13,6]' in 8 of its 9 columns: a break at the space, then a cut.
    expect(text(rows)).toEqual(['max |d| at  17.7     own', '            [0,0,13, ', '            6]       ']);
  });
});

describe('detail scrolling', () => {
  it.each([
    // offset, key, lines, page -> offset
    [0, { pageDown: true }, 50, 19, 18],
    [18, { pageDown: true }, 50, 19, 31],
    [31, { pageDown: true }, 50, 19, 31],
    [31, { pageUp: true }, 50, 19, 13],
    [5, { pageUp: true }, 50, 19, 0],
    [7, { home: true }, 50, 19, 0],
    [0, { end: true }, 50, 19, 31],
    [0, { pageDown: true }, 10, 19, 0],
    [0, { end: true }, 10, 19, 0],
    [3, { pageDown: true }, 5, 1, 4],
  ] as const)('from %i with %o over %i lines (page %i) goes to %i', (offset, key, lines, page, expected) => {
    expect(detailScrollKey(offset, key, lines, page)).toBe(expected);
  });

  it('leaves other keys to the caller and clamps an offset the lines no longer reach', () => {
    expect(detailScrollKey(4, { home: false }, 50, 19)).toBeNull();
    expect(detailScrollKey(4, {}, 50, 19)).toBeNull();
    expect(clampDetailScroll(40, 30, 19)).toBe(11);
    expect(clampDetailScroll(-3, 30, 19)).toBe(0);
    expect(detailPageHeight(20)).toBe(19);
  });
});

const channel = (c: number, snrDb: number, ref: [number, number], test: [number, number]): ChannelRange => ({
  channel: c,
  refMin: ref[0],
  refMax: ref[1],
  testMin: test[0],
  testMax: test[1],
  snrDb,
});

describe('histogram lines', () => {
  it('merges bins to fit, scales both sides by the taller, and draws eighths of a line', () => {
    expect(binsPerColumn(64, 72)).toBe(1);
    expect(binsPerColumn(64, 52)).toBe(2);
    expect(binsPerColumn(64, 20)).toBe(4);
    expect(mergeBins([1, 2, 3, 4, 5], 2)).toEqual([3, 7, 5]);
    // max 16 over 2 lines = 16 eighths: 16 → 16, 8 → 8, 1 → round(1) = 1, 0.1 → at least 1, 0 → 0.
    expect(barHeights([16, 8, 1, 0.1, 0], 16, 2)).toEqual([16, 8, 1, 1, 0]);
    expect(barRows([16, 8, 1, 12, 0], 2)).toEqual(['█  ▄ ', '██▁█ ']);
  });

  const d: ValueDistribution = {
    lo: -2,
    hi: 2,
    // 4 bins of 1: [-2,-1) [-1,0) [0,1) [1,2]
    ref: [1, 4, 4, 1],
    test: [3, 3, 3, 1],
    channels: null,
  };

  it('labels the bins and 0, and says where quant piles up and where it clips', () => {
    const lines = text(histogramLines(d, 20, 1));
    expect(lines).toEqual([
      'values: 4 bins of 1 over -2..2',
      'float  │▂██▂',
      'quant  │▆▆▆▂',
      '       └──┴─',
      // No room for the 0 between the end labels.
      '        -2 2',
      'quant piles up in -2..-1: 30% of its values, float 10%',
      'quant spikes at the low end (clipping): -2..-1 holds 30% of its values, float 10%',
    ]);
  });

  it('says nothing piles up when quant follows float, and counts when a side has no finite value', () => {
    expect(text(pileUpNotes({ ...d, test: d.ref }))).toEqual([
      'quant follows the float distribution (no bin holds half a percent more of its values)',
    ]);
    expect(text(pileUpNotes({ ...d, test: [0, 0, 0, 0] }))).toEqual(['finite values: float 10, quant 0']);
  });
});

describe('channel lines', () => {
  it('orders channels worst SNR first, NaN (nothing compared) first of all, ties by channel', () => {
    const ranges = [
      channel(0, 30, [0, 1], [0, 1]),
      channel(1, Number.NaN, [0, 1], [0, 1]),
      channel(2, 5, [0, 1], [0, 1]),
      channel(3, 5, [0, 1], [0, 1]),
      channel(4, -Infinity, [0, 1], [0, 1]),
    ];
    expect(worstChannelsFirst(ranges).map((r) => r.channel)).toEqual([1, 4, 2, 3, 0]);
  });

  it('draws float ▀, quant ▄, both █ over equal slices of the histogram range', () => {
    // 0..8 in 8 slices of 1; float 0..3.5 covers slices 0-3, quant 2..6 slices 1-6 (a touching end covers).
    expect(rangeBar(channel(0, 1, [0, 3.5], [2, 6]), 0, 8, 8)).toBe('▀███▄▄▄·');
    expect(rangeBar(channel(0, 1, [Number.NaN, Number.NaN], [7.5, 8]), 0, 8, 8)).toBe('·······▄');
  });

  it('says when only the first channels were kept, and puts the bar beside the numbers when it fits', () => {
    const dist: ValueDistribution = {
      lo: 0,
      hi: 8,
      ref: [1],
      test: [1],
      channels: { axis: 1, count: 300, ranges: [channel(0, 12.34, [0, 8], [0, 4])] },
    };
    const wide = text(channelLines(dist, 60));
    expect(wide[0]).toBe('channels (axis 1): the first 1 of 300, worst SNR first');
    expect(wide[2]).toBe('ch 0 12.3 dB  f 0..8  q 0..4 ' + '█'.repeat(16) + '▀'.repeat(15));
    const narrow = text(channelLines(dist, 36));
    // 34 slices of 8/34: quant 0..4 reaches slice 17 (17·8/34 = 4).
    expect(narrow.slice(2)).toEqual(['ch 0 12.3 dB  f 0..8  q 0..4 ', '  ' + '█'.repeat(18) + '▀'.repeat(16)]);
  });
});

describe('detail pane', () => {
  const report = demoReport();
  const withRow = (extra: Partial<ComparisonRow>): ComparisonReport => ({
    ...report,
    rows: report.rows.map((r, i) => (i === 1 ? { ...r, ...extra } : r)),
  });

  it('wraps the name and node line to the width without cutting them', () => {
    const tensor = `${'very_long_tensor_name_'.repeat(5)}end`;
    const lines = text(detailPane(withRow({ tensor, node: 'n' }), 1, 60));
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(60);
    expect(
      lines
        .slice(0, 3)
        .map((l) => l.trim())
        .join(''),
    ).toContain(tensor);
    expect(lines.some((l) => l.includes('…'))).toBe(false);
  });

  it('says why a compared row has no histograms, and shows them when it has', () => {
    expect(text(detailPane(report, 1, 80)).at(-1)).toBe('value histograms: none, this report was written before quantscope kept them');
    expect(text(detailPane(withRow({ distribution: null }), 1, 80)).at(-1)).toBe('value histograms: none, neither side has a finite value');
    const d: ValueDistribution = { lo: 0, hi: 4, ref: [1, 1, 1, 1], test: [0, 0, 0, 4], channels: null };
    const lines = text(detailPane(withRow({ distribution: d }), 1, 80));
    expect(lines).toContain('values: 4 bins of 1 over 0..4');
    expect(lines.slice(-2).map((l) => l.trim())).toEqual([
      'quant spikes at the high end (clipping): 3..4 holds 100% of its values, float',
      '25%',
    ]);
    // A row that could not be compared has neither.
    expect(text(detailPane(withRow({ metrics: null, error: 'No value.' }), 1, 80)).join('\n')).not.toContain('histograms');
  });
});
