/**
 * Styled text for panes that wrap: a line is a list of spans, each with a tone the component
 * maps to a theme colour. Wrapping works on code points (every character the panes draw is one
 * column wide: names are escaped by displayName, charts use block and braille characters).
 */
export type PaneTone = 'dim' | 'head' | 'pass' | 'fail' | 'warn' | 'first' | 'bold' | 'ref' | 'test';

export interface Span {
  readonly text: string;
  readonly tone?: PaneTone;
}

export type PaneLine = readonly Span[];

/** Code points in a line. */
export function lineLength(line: PaneLine): number {
  return line.reduce((n, s) => n + [...s.text].length, 0);
}

/**
 * Wraps text to `width` columns: breaks after the last space that fits when there is one past
 * the first quarter of the line, else cuts the word; a space at a break is dropped. Never loses
 * other characters; an empty text gives one empty line.
 */
export function wrapText(text: string, width: number): string[] {
  return wrapLine([{ text }], width).map((l) => l.map((s) => s.text).join(''));
}

/** Wraps a styled line to `width` columns (wrapText's rule); continuation lines start with `indent` spaces. */
export function wrapLine(line: PaneLine, width: number, indent = 0): PaneLine[] {
  const w = Math.max(1, width);
  const chars: { ch: string; tone?: PaneTone }[] = [];
  for (const s of line) for (const ch of s.text) chars.push({ ch, tone: s.tone });
  if (chars.length <= w) return [line];
  const pad = Math.min(indent, Math.floor(w / 2));
  const out: PaneLine[] = [];
  let at = 0;
  let first = true;
  while (at < chars.length) {
    const room = first ? w : w - pad;
    let end = Math.min(chars.length, at + room);
    let skip = 0;
    if (end < chars.length) {
      if (chars[end].ch === ' ') skip = 1;
      else {
        const least = at + Math.floor(room / 4);
        let k = end - 1;
        while (k > least && chars[k].ch !== ' ') k--;
        if (k > least && chars[k].ch === ' ') {
          end = k;
          skip = 1;
        }
      }
    }
    const piece = chars.slice(at, end);
    out.push([...(first || pad === 0 ? [] : [{ text: ' '.repeat(pad) }]), ...spansOf(piece)]);
    at = end + skip;
    first = false;
  }
  return out;
}

function spansOf(chars: readonly { ch: string; tone?: PaneTone }[]): Span[] {
  const out: { text: string; tone?: PaneTone }[] = [];
  for (const c of chars) {
    const last = out[out.length - 1];
    if (last && last.tone === c.tone) last.text += c.ch;
    else out.push({ text: c.ch, ...(c.tone ? { tone: c.tone } : {}) });
  }
  return out;
}

/** A row of columns, each cell wrapped to its width; the row is as many lines as its tallest cell. */
export function columnsRow(cells: readonly { readonly text: string; readonly width: number; readonly tone?: PaneTone }[]): PaneLine[] {
  const wrapped = cells.map((c) => wrapText(c.text, Math.max(1, c.width - 1)));
  const height = Math.max(1, ...wrapped.map((w) => w.length));
  const lines: PaneLine[] = [];
  for (let r = 0; r < height; r++) {
    const spans: Span[] = [];
    cells.forEach((c, i) => {
      const text = wrapped[i][r] ?? '';
      const last = i === cells.length - 1;
      spans.push({ text: last ? text : text.padEnd(c.width), ...(c.tone ? { tone: c.tone } : {}) });
    });
    lines.push(spans);
  }
  return lines;
}
