import Table from 'cli-table3';
import type { ComparisonReport } from '../analysis/comparison.js';
import { displayName } from '../core/closest.js';
import { passText, reportColumns, summaryLines, wrapCell } from './report-cells.js';
import { formatFindingsText } from './findings-text.js';

export { formatCsv } from './report-csv.js';
export { formatMarkdown } from './report-markdown.js';

export interface TableOptions {
  /** Colour pass/FAIL green/red and bold the headers with plain ANSI codes. */
  readonly color: boolean;
  /**
   * The terminal's width in columns: names and shapes wrap onto more lines to fit it, then columns
   * are left out. Undefined (stdout is not a terminal): every column, every value whole, one line per row.
   */
  readonly width?: number;
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET_FG = '\x1b[39m';
const BOLD = '\x1b[1m';
const RESET_BOLD = '\x1b[22m';

/**
 * The comparison as a terminal table (cli-table3) followed by summary lines. Without a width
 * every value is whole and each row one line. With one, the columns of names and shapes are
 * narrowed to fit it and their cells wrap onto more lines (never cut: a cut shape or name is a
 * wrong one); when even that does not fit, columns are left out in this order: node (it mostly
 * repeats the tensor name), own, relL2, max abs, shape, verdict. Without colour the output holds
 * no escape sequence at all; names are escaped by displayName either way. The first failing row's
 * index is red.
 */
export function formatTable(report: ComparisonReport, options: TableOptions): string {
  const width = options.width ?? Number.POSITIVE_INFINITY;
  let columns = reportColumns(report);
  let cells = report.rows.map((row) => columns.map((c) => c.cell(row, report)));
  const naturalOf = () => columns.map((c, j) => Math.max(c.header.length, ...cells.map((r) => [...r[j]].length)));
  let fit = fitWidths(naturalOf(), columns, width);
  for (;;) {
    if (fit.fits) break;
    let drop = -1;
    columns.forEach((c, j) => {
      if (c.dropOrder !== undefined && (drop < 0 || c.dropOrder < (columns[drop].dropOrder as number))) drop = j;
    });
    if (drop < 0) break;
    columns = columns.filter((_, j) => j !== drop);
    cells = cells.map((r) => r.filter((_, j) => j !== drop));
    fit = fitWidths(naturalOf(), columns, width);
  }
  const limits = fit.widths;
  const paint = (text: string, code: string, reset: string): string => (options.color ? `${code}${text}${reset}` : text);
  const table = new Table({
    head: columns.map((c) => paint(c.header, BOLD, RESET_BOLD)),
    colAligns: columns.map((c) => c.align),
    colWidths: limits.map((w) => w + 2),
    wordWrap: false,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1, compact: true },
  });
  const passColumn = columns.length - 1;
  report.rows.forEach((row, i) => {
    table.push(
      cells[i].map((text, j) => {
        if (j === passColumn) return paint(passText(row), row.pass ? GREEN : RED, RESET_FG);
        const shown = columns[j].minWidth !== undefined ? wrapCell(text, limits[j]) : text;
        if (j === 0 && row.tensor === report.firstFailing) return paint(shown, RED, RESET_FG);
        return shown;
      }),
    );
  });
  const head: string[] = [];
  const title = [report.model, report.profile]
    .filter((x): x is string => x !== undefined)
    .map((x) => displayName(x))
    .join(' · ');
  if (title) head.push(title);
  const findings = formatFindingsText(report.findings, { color: options.color });
  return [...head, table.toString(), ...summaryLines(report), ...(findings ? ['', findings] : [])].join('\n');
}

/**
 * Content widths for the columns: the natural widths when the table fits in `total` (counting a
 * border and two padding characters per column), else the columns that may be narrowed (a
 * minWidth) lose width one character at a time, the widest first, none below its minWidth: the
 * wrapped names share the room, so no cell wraps onto many lines while another keeps its whole
 * width. `fits` says whether the result fits.
 */
export function fitWidths(
  natural: readonly number[],
  columns: readonly { minWidth?: number }[],
  total: number,
): { widths: number[]; fits: boolean } {
  const widths = [...natural];
  let excess = widths.reduce((a, b) => a + b, 0) + widths.length * 3 + 1 - total;
  while (excess > 0) {
    let widest = -1;
    widths.forEach((w, j) => {
      const min = columns[j].minWidth;
      if (min !== undefined && w > min && (widest < 0 || w > widths[widest])) widest = j;
    });
    if (widest < 0) break;
    widths[widest] -= 1;
    excess -= 1;
  }
  return { widths, fits: excess <= 0 };
}
