import type { Key } from 'ink';
import type { Message, UiState } from './state.js';
import { moveCursor, pageBy, scrollTo, type Viewport } from './viewport.js';

/** Up/down/page/home/end on a list; null when the key is not a movement. */
export function movement(view: Viewport, input: string, key: Key, count: number, height: number): Viewport | null {
  if (key.upArrow || input === 'k') return moveCursor(view, -1, count, height);
  if (key.downArrow || input === 'j') return moveCursor(view, 1, count, height);
  if (key.pageUp) return pageBy(view, -1, count, height);
  if (key.pageDown) return pageBy(view, 1, count, height);
  if (key.home || input === 'g') return scrollTo(view, 0, count, height);
  if (key.end || input === 'G') return scrollTo(view, count - 1, count, height);
  return null;
}

/**
 * Whether a list item matches a search: every word of the query (case-insensitive) is in one of
 * the item's texts; `*` and `?` in a word match any run of characters and any one character.
 */
export function matchesQuery(query: string, texts: readonly string[]): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return false;
  const lower = texts.map((t) => t.toLowerCase());
  return words.every((w) => {
    if (!/[*?]/.test(w)) return lower.some((t) => t.includes(w));
    const re = new RegExp(
      w
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.'),
    );
    return lower.some((t) => re.test(t));
  });
}

/**
 * The next item from `from` in direction `step` (wrapping) whose texts match the query, or -1.
 * With `inclusive` the item at `from` itself may match (a new search starts where the cursor is).
 */
export function findMatch(
  count: number,
  textsOf: (i: number) => readonly string[],
  query: string,
  from: number,
  step: 1 | -1,
  inclusive: boolean,
): number {
  for (let k = inclusive ? 0 : 1; k <= count; k++) {
    const i = (((from + step * k) % count) + count) % count;
    if (matchesQuery(query, textsOf(i))) return i;
  }
  return -1;
}

/** A status message (info unless said). */
export function say(state: UiState, text: string, level: Message['level'] = 'info'): UiState {
  return { ...state, message: { level, text } };
}

/** How a key reads in a message: `x`, `Enter`, `↑`. */
export function keyName(input: string, key: Key): string {
  if (key.return) return 'Enter';
  if (key.backspace || key.delete) return 'Backspace';
  if (key.upArrow) return '↑';
  if (key.downArrow) return '↓';
  if (key.leftArrow) return '←';
  if (key.rightArrow) return '→';
  if (key.pageUp) return 'PgUp';
  if (key.pageDown) return 'PgDn';
  if (input === ' ') return 'space';
  if (input === '\t' || key.tab) return 'Tab';
  const code = input.codePointAt(0) ?? 0;
  if (input.length === 1 && code < 32) return `Ctrl-${String.fromCharCode(code + 64)}`;
  if (key.meta) return `Alt-${input}`;
  if (key.ctrl) return `Ctrl-${input.toUpperCase()}`;
  return input;
}
