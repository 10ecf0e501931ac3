/**
 * Scrolling the detail pane. The pane shows `page` lines from `offset`; the keys that scroll it
 * are PgUp/PgDn (a page less one line, so one line stays in view) and Home/End. ↑↓/j/k are not
 * scroll keys: they step between tensors, and the caller resets the offset when the row changes.
 */

/** The keys of a keypress this module reads (ink's Key has them all). */
export interface ScrollKey {
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
}

/** Lines the detail view keeps for itself below the pane: the position line. */
export const DETAIL_FOOTER_LINES = 1;

/** Lines of the pane in a detail view `body` lines high. */
export function detailPageHeight(body: number): number {
  return Math.max(1, body - DETAIL_FOOTER_LINES);
}

/** The largest offset: the last page ends at the last line. */
export function maxDetailScroll(lineCount: number, page: number): number {
  return Math.max(0, lineCount - Math.max(1, page));
}

/** An offset clamped to 0..maxDetailScroll (the lines may have changed since it was set). */
export function clampDetailScroll(offset: number, lineCount: number, page: number): number {
  return Math.max(0, Math.min(Math.floor(offset), maxDetailScroll(lineCount, page)));
}

/** The offset after a keypress, or null when the key does not scroll the pane. */
export function detailScrollKey(offset: number, key: ScrollKey, lineCount: number, page: number): number | null {
  const step = Math.max(1, page - 1);
  if (key.pageDown) return clampDetailScroll(offset + step, lineCount, page);
  if (key.pageUp) return clampDetailScroll(offset - step, lineCount, page);
  if (key.home) return 0;
  if (key.end) return maxDetailScroll(lineCount, page);
  return null;
}
