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
  /** Table rows on the results screen (body minus two summary lines, sparkline and column header). */
  readonly resultRows: number;
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

export function layoutFor(width: number, height: number): Layout {
  const w = Math.max(MIN_WIDTH, width);
  const h = Math.max(MIN_HEIGHT, height);
  const body = h - HEADER - STATUS - FOOTER;
  return {
    width: w,
    height: h,
    body,
    graphRows: body - 2,
    resultRows: body - 4,
    probeRows: body - 2 - RESULT_BOX,
    pageRows: body - 1,
  };
}
