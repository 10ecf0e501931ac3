/**
 * How the rows of the terminal are shared between the parts of the screen. Every screen has a
 * two-line header, a status line and a one-line footer; lists get what is left, so the UI fits
 * 80x24 and uses larger terminals fully.
 */
export interface Layout {
  readonly width: number;
  readonly height: number;
  /** Rows of the screen body (between header and status line). */
  readonly body: number;
  /** Node rows on the graph screen (body minus column header and filter line). */
  readonly graphRows: number;
  /** Table rows on the results screen (body minus two summary lines, the chart and the column header). */
  readonly resultRows: number;
  /** Lines of the results screen's metric-along-depth chart (plot, axis and labels). */
  readonly chartRows: number;
  /** Probe rows on the bisect and fix screens (body minus title, column header and result box). */
  readonly probeRows: number;
  /** Rows of the findings, runs and help lists (body minus a title line). */
  readonly pageRows: number;
}

export const MIN_WIDTH = 60;
export const MIN_HEIGHT = 16;
const HEADER = 2;
const STATUS = 1;
const FOOTER = 1;
/** Lines the bisect/fix result box takes below the probe list. */
export const RESULT_BOX = 6;

/** The chart takes 30% of the body, 3 to 12 lines: 6 at 80x24, which leaves the table 11 rows (8 under a findings box). */
export function chartRowsFor(body: number): number {
  return Math.max(3, Math.min(12, Math.floor(body * 0.3)));
}

export function layoutFor(width: number, height: number): Layout {
  const w = Math.max(MIN_WIDTH, width);
  const h = Math.max(MIN_HEIGHT, height);
  const body = h - HEADER - STATUS - FOOTER;
  const chartRows = chartRowsFor(body);
  return {
    width: w,
    height: h,
    body,
    graphRows: body - 2,
    resultRows: body - 3 - chartRows,
    chartRows,
    probeRows: body - 2 - RESULT_BOX,
    pageRows: body - 1,
  };
}
