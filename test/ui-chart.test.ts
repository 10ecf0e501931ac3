import { describe, expect, it } from 'vitest';
import { chartWindow, depthChart, nextZoom, type DepthChartInput } from '../src/ui/depth-chart.js';

/**
 * The braille chart, checked by decoding its cells back to dots with the Unicode braille table
 * (dots 1-8 are bits 0-7: dots 1,2,3 the left column's top three, 4,5,6 the right column's,
 * 7 and 8 the bottom row left and right), independently of the encoder.
 */
const DOT_OF_BIT: readonly [number, number][] = [
  [0, 0],
  [0, 1],
  [0, 2],
  [1, 0],
  [1, 1],
  [1, 2],
  [0, 3],
  [1, 3],
];

/** The dots of the plot lines as "x,y" (x in dot columns from the plot's left, y in dot rows from the top). */
function dots(lines: readonly { text: string }[], gutter: number): string[] {
  const out: string[] = [];
  lines.forEach((line, row) => {
    [...line.text].slice(gutter).forEach((ch, col) => {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp < 0x2800 || cp > 0x28ff) return;
      for (let b = 0; b < 8; b++) if ((cp - 0x2800) & (1 << b)) out.push(`${col * 2 + DOT_OF_BIT[b][0]},${row * 4 + DOT_OF_BIT[b][1]}`);
    });
  });
  return out.sort();
}

const sorted = (list: string[]): string[] => [...list].sort();

function input(over: Partial<DepthChartInput>): DepthChartInput {
  const values = over.values ?? [];
  return {
    values,
    fails: values.map(() => false),
    indices: values.map((_, i) => i),
    cursor: 0,
    zoom: 1,
    threshold: null,
    higherIsBetter: true,
    log: false,
    format: (v) => String(v),
    label: 'm',
    width: 40,
    height: 4,
    ...over,
  };
}

describe('depth chart', () => {
  it('puts row i at dot column i when the rows fit, heights round((hi − v)/(hi − lo)·(R − 1)), joined by a line', () => {
    // 2 plot lines: R = 8 dot rows; v = 0, 1, 2, 3 land on rows 7, 5, 2, 0. Gutter "3 ┤" is 3 wide, 2 cells = 4 dot columns.
    const chart = depthChart(input({ values: [0, 1, 2, 3], width: 5, cursor: 3 }));
    const plot = chart.lines.slice(0, 2);
    expect(plot.map((l) => l.text.slice(0, 3))).toEqual(['3 ┤', '0 ┤']);
    // Column 0 holds its point; each later column the span from the previous height to its own.
    expect(dots(plot, 3)).toEqual(sorted(['0,7', '1,7', '1,6', '1,5', '2,5', '2,4', '2,3', '2,2', '3,2', '3,1', '3,0']));
    expect(chart.lines).toHaveLength(4);
    expect(chart.from).toBe(0);
    expect(chart.to).toBe(4);
  });

  it('marks failing points by tone and on the axis line, the cursor by ▲ and its column', () => {
    const chart = depthChart(input({ values: [0, 1, 2, 3], fails: [false, false, true, false], width: 5, cursor: 0 }));
    // Row 2 (v = 2) sits at dot (2, 2): cell column 1 of the top line. Cell 0 of that line has no dot: the cursor's ┊.
    expect(chart.lines[0].text.slice(3, 4)).toBe('┊');
    expect(chart.lines[0].tones.slice(3)).toEqual(['cursor', 'fail']);
    expect(chart.lines[1].tones.slice(3)).toEqual(['pass', 'pass']);
    expect(chart.lines[2].text).toBe('  └▲✗');
    expect(chart.cursorColumn).toBe(3);
  });

  it('draws the threshold as ┈ in the empty cells of its line, labelled on the axis', () => {
    // v = 10 on rows 0..3 (dot row 0), 0 on row 4 (dot row 7); threshold 5: dot row round(3.5) = 4, the second line.
    const chart = depthChart(input({ values: [10, 10, 10, 10, 0, 0, 0, 0], width: 8, threshold: 5, height: 5, cursor: 7 }));
    expect(chart.lines.map((l) => l.text.slice(0, 4))).toEqual(['10 ┤', ' 5 ┤', ' 0 ┤', '   └', '    ']);
    // 4 cells, 8 dot columns, one row each; R = 12: 10 → 0, 0 → 11. The step at column 4 spans rows 0..11.
    expect(chart.lines[1].text.slice(4)).toBe('┈┈⡇┊');
    expect(chart.lines[1].tones.slice(4)).toEqual(['threshold', 'threshold', 'pass', 'cursor']);
    expect(dots(chart.lines.slice(0, 3), 4)).toEqual(
      sorted(['0,0', '1,0', '2,0', '3,0', ...[...Array(12).keys()].map((y) => `4,${y}`), '5,11', '6,11', '7,11']),
    );
    // The label line has no room for the legend at 8 columns; wider, it says what ┈ is.
    expect([...chart.lines[4].text]).toHaveLength(8);
    expect(depthChart(input({ values: [10, 0], threshold: 5, width: 30 })).lines[3].text).toContain('m  ┈ ≥5');
  });

  it('spans the smallest to the largest value of the rows sharing a dot column', () => {
    // 8 rows over 1 cell (2 dot columns): rows 0-3 in column 0, rows 4-7 in column 1; R = 4.
    const chart = depthChart(input({ values: [0, 3, 0, 0, 1, 1, 2, 1], height: 3, width: 4 }));
    expect(chart.lines[0].text.slice(3)).toHaveLength(1);
    // Column 0: 0 → row 3, 3 → row 0: rows 0..3. Column 1: from row 3 (v = 0) to 2 (v = 1), then 1 (v = 2) and back to 2.
    expect(dots(chart.lines.slice(0, 1), 3)).toEqual(sorted(['0,0', '0,1', '0,2', '0,3', '1,1', '1,2', '1,3']));
  });

  it('clamps infinities to the ends with ↑ and ↓, puts NaN at the bad end as ×, and keeps them out of the scale', () => {
    const values = [1, Infinity, Number.NaN, 0, -Infinity, null];
    const chart = depthChart(input({ values, fails: [false, false, true, false, true, true], width: 9 }));
    // 6 rows over 6 cells... gutter "1 ┤" (3), 6 cells = 12 dot columns: row i at column 2i, cell i.
    expect(chart.lines[0].text).toBe('1 ┤⠁↑    ');
    // Row 3 (v = 0) at dot (6, 7): the left column's bottom dot of cell 3. The cursor's empty cell 0 shows ┊.
    expect(chart.lines[1].text).toBe('0 ┤┊ ×⡀↓ ');
    expect(chart.lines[1].tones.slice(3, 8)).toEqual(['cursor', null, 'fail', 'pass', 'fail']);
    expect(chart.lines[2].text).toBe('  └▲─✗─✗✗');
    // Too narrow for the legend here; at 40 columns it names the marks.
    expect(depthChart(input({ values, width: 40 })).lines[3].text).toContain('m  ↑ +inf  ↓ -inf  × NaN');
    // Lower is better: NaN is bad at the top.
    const errors = depthChart(input({ values: [1, Number.NaN, 0], higherIsBetter: false, width: 6 }));
    expect(errors.lines[0].text.slice(3)).toBe('⠁× ');
  });

  it('draws a flat metric on the middle row and an error metric on a log scale', () => {
    const flat = depthChart(input({ values: [2, 2], width: 4, height: 3 }));
    // R = 4: middle row ⌊3/2⌋ = 1; both rows in the one cell.
    expect(dots(flat.lines.slice(0, 1), 3)).toEqual(['0,1', '1,1']);
    const log = depthChart(
      input({ values: [1e-6, 1e-4, 1e-2], log: true, higherIsBetter: false, width: 9, height: 3, format: (v) => v.toExponential(0) }),
    );
    // Gutter "1e-2 ┤" (6), 3 cells: rows at dot columns 0, 2, 4. log10 −6, −4, −2 → dot rows 3, round(1.5) = 2, 0.
    // The line from (0,3) to (2,2) is at round(2.5) = 3 in column 1; from (2,2) to (4,0) at 1 in column 3.
    expect(dots(log.lines.slice(0, 1), 6)).toEqual(sorted(['0,3', '1,3', '2,3', '2,2', '3,2', '3,1', '4,1', '4,0']));
    // A zero keeps the scale linear: 0.01 rounds to row 3 with 0; columns 0, 4, 8 of 12.
    const linear = depthChart(input({ values: [0, 1e-2, 1], log: true, width: 9, height: 3 }));
    expect(dots(linear.lines.slice(0, 1), 3)).toEqual(
      sorted(['0,3', '1,3', '2,3', '3,3', '4,3', '5,3', '5,2', '6,2', '7,2', '7,1', '8,1', '8,0']),
    );
  });

  it('zooms 1x, 4x, 16x around the cursor and says which rows it shows', () => {
    expect([nextZoom(1), nextZoom(4), nextZoom(16), nextZoom(3)]).toEqual([4, 16, 1, 1]);
    expect(chartWindow(100, 50, 4)).toEqual({ from: 38, to: 63 });
    expect(chartWindow(100, 2, 4)).toEqual({ from: 0, to: 25 });
    expect(chartWindow(100, 99, 16)).toEqual({ from: 93, to: 100 });
    expect(chartWindow(3, 1, 16)).toEqual({ from: 1, to: 2 });
    expect(chartWindow(0, 0, 4)).toEqual({ from: 0, to: 0 });
    const values = [...Array(100).keys()].map((i) => i / 100);
    const chart = depthChart(input({ values, indices: values.map((_, i) => i * 2), cursor: 50, zoom: 4, width: 60 }));
    const labels = chart.lines[chart.lines.length - 1].text;
    expect(labels.trimStart().startsWith('#76 ')).toBe(true);
    expect(labels.endsWith('#124')).toBe(true);
    expect(labels).toContain('m  4x: 25 of 100');
    // The scale follows the window: its extremes are rows 38 and 62.
    expect(chart.lines[0].text.startsWith('0.62 ┤')).toBe(true);
    expect(chart.lines[1].text.startsWith('0.38 ┤')).toBe(true);
    // The cursor (row 50, the 13th of 25) sits at dot column ⌊12·2·54/25⌋ = 51, cell 25.
    expect(chart.cursorColumn).toBe(6 + 25);
  });

  it('keeps every line the width and never fails on no rows or no values', () => {
    for (const values of [[], [null, null], [Number.NaN], [1, 2, 3]]) {
      const chart = depthChart(input({ values, width: 30, height: 6 }));
      expect(chart.lines).toHaveLength(6);
      for (const l of chart.lines) {
        expect([...l.text]).toHaveLength(30);
        expect(l.tones).toHaveLength(30);
      }
    }
    expect(depthChart(input({ values: [], width: 30 })).lines[3].text).toContain('m: no compared tensors');
  });
});
