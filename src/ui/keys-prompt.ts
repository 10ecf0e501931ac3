import type { Key } from 'ink';
import { findMatch, say } from './keys-list.js';
import type { Effect, KeyContext, KeyResult } from './key-types.js';
import { searchList, moveTo } from './search-targets.js';
import { SETTING_FIELDS } from './settings-fields.js';
import type { ListScreen, Prompt, UiState } from './state.js';

const LIST_SCREENS: readonly string[] = ['results', 'findings', 'runs', 'bisect', 'fix', 'help'];

export function isListScreen(screen: string): screen is ListScreen {
  return LIST_SCREENS.includes(screen);
}

/** Opens a text prompt; it takes every key until Enter or Esc. */
export function openPrompt(state: UiState, prompt: Prompt): UiState {
  return { ...state, prompt, confirmQuit: false };
}

/** The text after one keystroke: printable characters appended, Backspace, Ctrl-U clears. */
function edited(draft: string, input: string, key: Key): string {
  if (key.backspace || key.delete) return [...draft].slice(0, -1).join('');
  if (key.ctrl && input === 'u') return '';
  if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow) return draft + input.replace(/[\x00-\x1f\x7f]/g, '');
  return draft;
}

/**
 * A key while a prompt is open. Every key goes to the prompt (none starts a job or leaves the
 * screen): Esc drops it, Enter submits it. A search moves the cursor to the first match as it is
 * typed; n/N then step through the matches.
 */
export function promptKey(state: UiState, prompt: Prompt, input: string, key: Key, kc: KeyContext): KeyResult {
  if (key.escape) return { state: { ...state, prompt: null, message: { level: 'info', text: `${prompt.label} cancelled` } } };
  if (key.return) return submit({ ...state, prompt: null }, prompt, kc);
  const draft = edited(prompt.draft, input, key);
  if (draft === prompt.draft) return { state };
  const next = { ...state, prompt: { ...prompt, draft } };
  if (prompt.kind === 'search' && isListScreen(state.screen)) return { state: searchFor(next, state.screen, draft, 1, true, kc) };
  return { state: next };
}

function submit(state: UiState, prompt: Prompt, kc: KeyContext): KeyResult {
  const text = prompt.draft.trim();
  switch (prompt.kind) {
    case 'search': {
      if (!isListScreen(state.screen)) return { state };
      const screen = state.screen;
      if (text === '') {
        const search = { ...state.search };
        delete search[screen];
        return { state: say({ ...state, search }, 'search cleared') };
      }
      const found = searchFor(state, screen, text, 1, true, kc);
      return { state: { ...found, search: { ...found.search, [screen]: text } } };
    }
    case 'save':
    case 'open': {
      if (text === '') return { state: say(state, `no file given; nothing ${prompt.kind === 'save' ? 'saved' : 'opened'}`, 'warn') };
      const effect: Effect = prompt.kind === 'save' ? { type: 'save-plan', path: text } : { type: 'open-plan', path: text };
      return { state, effect };
    }
    case 'setting': {
      const field = SETTING_FIELDS.find((f) => f.field === prompt.field);
      if (!field) return { state };
      const parsed = field.parse(prompt.draft, state.settingsDraft ?? kc.session.settings);
      if (typeof parsed === 'string') return { state: say(state, parsed, 'error') };
      return { state: { ...state, settingsDraft: parsed }, effect: { type: 'check-settings' } };
    }
  }
}

/**
 * The state with the list's cursor on the next match of `query` (from the cursor, in direction
 * `step`), or a message saying nothing matches.
 */
export function searchFor(state: UiState, screen: ListScreen, query: string, step: 1 | -1, inclusive: boolean, kc: KeyContext): UiState {
  const list = searchList(state, screen, kc.layout);
  if (!list || list.count === 0) return say(state, `nothing to search on the ${screen} screen yet`, 'warn');
  const at = findMatch(list.count, list.texts, query, list.view.cursor, step, inclusive);
  if (at < 0) return say(state, `no match for '${query}' on the ${screen} screen`, 'warn');
  const moved = moveTo(list, at);
  let matches = 0;
  for (let i = 0; i < list.count; i++) if (findMatch(1, () => list.texts(i), query, 0, 1, true) === 0) matches++;
  return say(moved, `'${query}': row ${at + 1} of ${list.count}, ${matches} match${matches === 1 ? '' : 'es'}; n/N next/previous`);
}
