import type { Key } from 'ink';
import { movement, say } from './keys-list.js';
import { openPrompt } from './keys-prompt.js';
import type { KeyContext, KeyResult } from './key-types.js';
import { editText, SETTING_FIELDS, stepChoice } from './settings-fields.js';
import type { UiState } from './state.js';

/**
 * The settings screen's keys: ↑↓ choose a field, Enter types its value, ←→ step through a
 * field's choices, `a` applies the edited settings (they are checked first), `x` drops them.
 * Null lets the shared keys have the key.
 */
export function settingsKey(state: UiState, input: string, key: Key, kc: KeyContext): KeyResult | null {
  const moved = movement(state.settingsView, input, key, SETTING_FIELDS.length, SETTING_FIELDS.length);
  if (moved) return { state: { ...state, settingsView: moved } };
  const field = SETTING_FIELDS[state.settingsView.cursor];
  const draft = state.settingsDraft ?? kc.session.settings;
  if (key.return) {
    return { state: openPrompt(state, { kind: 'setting', label: field.label, draft: editText(field, draft), field: field.field }) };
  }
  if (key.leftArrow || key.rightArrow || input === 'h' || input === 'l') {
    const next = stepChoice(field, draft, key.leftArrow || input === 'h' ? -1 : 1);
    if (next === null) return { state: say(state, `${field.label} has no list of choices: Enter types it`) };
    if (typeof next === 'string') return { state: say(state, next, 'error') };
    return { state: { ...state, settingsDraft: next }, effect: { type: 'check-settings' } };
  }
  if (input === 'a') {
    if (state.job) return { state: say(state, `${state.job.kind} is running; apply the settings when it ends (Esc cancels it)`, 'warn') };
    if (!state.settingsDraft) return { state: say(state, 'nothing changed to apply') };
    return { state, effect: { type: 'apply-settings' } };
  }
  if (input === 'x') {
    if (!state.settingsDraft) return { state: say(state, 'nothing changed to drop') };
    return { state: say({ ...state, settingsDraft: null, settingsError: null }, 'setting changes dropped') };
  }
  return null;
}
