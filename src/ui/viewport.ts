/**
 * The scroll state of a virtualized list: only rows offset..offset+height-1 are rendered, so a
 * graph of thousands of nodes costs the same per frame as one of twenty.
 */
export interface Viewport {
  /** Selected row, 0..count-1 (0 when the list is empty). */
  readonly cursor: number;
  /** First visible row. */
  readonly offset: number;
}

export const TOP: Viewport = { cursor: 0, offset: 0 };

/** Moves the cursor by `delta` rows (clamped) and scrolls just enough to keep it visible. */
export function moveCursor(view: Viewport, delta: number, count: number, height: number): Viewport {
  return scrollTo(view, view.cursor + delta, count, height);
}

/** Places the cursor on `row` (clamped) and scrolls just enough to keep it visible. */
export function scrollTo(view: Viewport, row: number, count: number, height: number): Viewport {
  if (count <= 0) return TOP;
  const cursor = Math.max(0, Math.min(count - 1, row));
  const h = Math.max(1, height);
  let offset = view.offset;
  if (cursor < offset) offset = cursor;
  if (cursor >= offset + h) offset = cursor - h + 1;
  offset = Math.max(0, Math.min(offset, Math.max(0, count - h)));
  return { cursor, offset };
}

/** The same view after the list or the window changed size: cursor clamped, still visible. */
export function clampView(view: Viewport, count: number, height: number): Viewport {
  return scrollTo(view, view.cursor, count, height);
}

/** The range of rows to render: [offset, end). */
export function visibleRange(view: Viewport, count: number, height: number): { from: number; to: number } {
  const from = Math.min(view.offset, Math.max(0, count - 1));
  return { from: Math.max(0, from), to: Math.min(count, Math.max(0, from) + Math.max(0, height)) };
}

/** Scrolls by whole pages: window and cursor both move `pages` windows (clamped at the ends). */
export function pageBy(view: Viewport, pages: number, count: number, height: number): Viewport {
  if (count <= 0) return TOP;
  const h = Math.max(1, height);
  const offset = Math.max(0, Math.min(view.offset + pages * h, Math.max(0, count - h)));
  const cursor = Math.max(0, Math.min(count - 1, view.cursor + pages * h));
  return scrollTo({ cursor, offset }, cursor, count, h);
}
