import type { Key } from 'ink';
import type { JobKind, JobRequest } from '../app/session/session-jobs.js';
import { editFilter, editRefusal, graphKey } from './keys-graph.js';
import { keyName, say } from './keys-list.js';
import { isListScreen, openPrompt, promptKey } from './keys-prompt.js';
import { detailKey, findingsKey, helpKey, planKey, probeKey, resultsKey, runsKey } from './keys-screens.js';
import { settingsKey } from './keys-settings.js';
import type { KeyContext, KeyResult } from './key-types.js';
import { HELP_LINES } from './search-targets.js';
import { hasUnsavedEdits, type Screen, type UiState } from './state.js';

export type { Effect, KeyContext, KeyResult } from './key-types.js';

const SCREEN_NAMES: Readonly<Record<Screen, string>> = {
  graph: 'graph',
  results: 'results',
  detail: 'detail',
  findings: 'findings',
  runs: 'runs',
  settings: 'settings',
  plan: 'plan',
  bisect: 'bisect',
  fix: 'fix',
  emit: 'emit',
  help: 'help',
};

/**
 * Maps one keypress to the next state and an effect. Pure; App.tsx performs the effect. Keys are
 * modal: an open prompt or filter takes every key; then the keys every screen shares; then the
 * screen's own. A key that means nothing on the screen says so on the status line.
 */
export function handleKey(state: UiState, input: string, key: Key, kc: KeyContext): KeyResult {
  if (state.prompt) return promptKey(state, state.prompt, input, key, kc);
  if (state.filter.draft !== null) return { state: editFilter(state, input, key, kc) };
  if ((key.ctrl && input === 'c') || input === 'q') return quitKey(state);
  const calm0 = state.confirmQuit ? { ...state, confirmQuit: false, message: null } : state;
  const calm = calm0.confirmUndo && input !== 'u' ? { ...calm0, confirmUndo: false } : calm0;
  if (key.escape) {
    if (state.job) return { state: calm, effect: { type: 'cancel' } };
    if (state.confirmQuit) return { state: say(calm, 'quit cancelled') };
    return { state: { ...calm, screen: backFrom(state.screen, state.helpReturn) } };
  }
  if (state.confirmQuit && input === 'w') return { state: savePrompt(calm, kc) };
  if (state.screen === 'settings') {
    const settings = settingsKey(calm, input, key, kc);
    if (settings) return settings;
  }
  if (input === '?') {
    return {
      state: state.screen === 'help' ? { ...calm, screen: state.helpReturn } : { ...calm, screen: 'help', helpReturn: state.screen },
    };
  }
  if (key.tab) return { state: { ...calm, screen: nextScreen(state, key.shift ? -1 : 1) } };
  if (input === '/' && isListScreen(state.screen)) {
    return { state: openPrompt(calm, { kind: 'search', label: 'search', draft: '' }) };
  }
  const global = globalKey(calm, input, kc);
  if (global) return global;
  const own = screenKey(calm, input, key, kc);
  if (own) return { state: own };
  if (input === '' && !key.return && !key.backspace && !key.delete && !key.upArrow && !key.downArrow) return { state: calm };
  return { state: say(calm, `${keyName(input, key)} does nothing on the ${SCREEN_NAMES[state.screen]} screen; ? lists the keys`, 'warn') };
}

function quitKey(state: UiState): KeyResult {
  if (state.confirmQuit || !hasUnsavedEdits(state)) return { state, effect: { type: 'quit' } };
  const n = state.edits.length;
  const text = `the plan (${n} edit${n === 1 ? '' : 's'}) is not saved: q quits anyway, w saves, Esc stays`;
  return { state: { ...state, confirmQuit: true, message: { level: 'warn', text } } };
}

function savePrompt(state: UiState, kc: KeyContext): UiState {
  return openPrompt(state, { kind: 'save', label: 'save the plan to', draft: state.planFile ?? kc.defaultPlanPath ?? '' });
}

/** Keys every screen but help shares: jobs, screens, plan files. */
function globalKey(state: UiState, input: string, kc: KeyContext): KeyResult | null {
  if (state.screen === 'help') return null;
  const job = startKey(state, input, kc);
  if (job) return job;
  switch (input) {
    case 's':
      return { state: { ...state, screen: 'settings' } };
    case 'F':
      if (!state.report) return { state: say(state, 'no comparison yet: r runs one, and its findings show here', 'warn') };
      return { state: { ...state, screen: 'findings' } };
    case 'P':
      return { state: { ...state, screen: 'plan', planScroll: 0 } };
    case 'R':
      if (state.runs.length === 0) return { state: say(state, 'no runs yet: r runs a comparison', 'warn') };
      return { state: { ...state, screen: 'runs' } };
    case 'w':
      if (state.edits.length === 0 && kc.session.basePlan.overrides.length === 0)
        return { state: say(state, "the plan has no edits to save: p cycles a node's precision", 'warn') };
      return { state: savePrompt(state, kc) };
    case 'o': {
      const refusal = editRefusal(state);
      if (refusal) return { state: say(state, refusal, 'warn') };
      return { state: openPrompt(state, { kind: 'open', label: 'open the plan file', draft: state.planFile ?? kc.defaultPlanPath ?? '' }) };
    }
    default:
      return null;
  }
}

function screenKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
  switch (state.screen) {
    case 'graph':
      return graphKey(state, input, key, kc);
    case 'results':
      return resultsKey(state, input, key, kc);
    case 'detail':
      return detailKey(state, input, key, kc);
    case 'findings':
      return findingsKey(state, input, key, kc);
    case 'runs':
      return runsKey(state, input, key, kc);
    case 'bisect':
    case 'fix':
      return probeKey(state, state.screen, input, key, kc);
    case 'help':
      return helpKey(state, input, key, kc, HELP_LINES.length);
    case 'plan':
      return planKey(state, key, kc);
    case 'settings':
    case 'emit':
      return null;
  }
}

function backFrom(screen: Screen, helpReturn: Screen): Screen {
  if (screen === 'detail' || screen === 'findings') return 'results';
  if (screen === 'help') return helpReturn;
  return 'graph';
}

/** The screens that have something to show, in Tab order (findings, settings and help have keys of their own). */
export function availableScreens(state: UiState): Screen[] {
  const list: Screen[] = ['graph'];
  if (state.report) list.push('results');
  if (state.runs.length > 1) list.push('runs');
  if (state.bisect) list.push('bisect');
  if (state.fix) list.push('fix');
  if (state.emit) list.push('emit');
  return list;
}

function nextScreen(state: UiState, step: number): Screen {
  const list = availableScreens(state);
  const current =
    state.screen === 'detail' || state.screen === 'findings' ? 'results' : state.screen === 'help' ? state.helpReturn : state.screen;
  const at = Math.max(0, list.indexOf(current));
  return list[(at + step + list.length) % list.length];
}

const START_KEYS: Readonly<Record<string, JobKind>> = { r: 'compare', b: 'bisect', f: 'fix', e: 'emit' };

function startKey(state: UiState, input: string, kc: KeyContext): KeyResult | null {
  const kind = START_KEYS[input];
  if (!kind) return null;
  if (state.job) return { state: say(state, `${state.job.kind} is running; Esc cancels it`, 'warn') };
  const graph = kc.session.ctx.graph;
  const taps = graph.nodes.flatMap((n) => n.outputs.filter((o) => state.taps.has(o)));
  const request: JobRequest = kind === 'compare' ? { kind, edits: state.edits, taps } : { kind, edits: state.edits };
  return { state, effect: { type: 'start', request } };
}

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/**
 * Splits one input event into keypresses. A terminal delivers keys typed (or sent by tmux) in
 * quick succession as one chunk, which ink reports as a single multi-character input; each
 * character is a key of its own here, so `1ar` filters, taps and runs.
 */
export function splitInput(input: string, key: Key): [string, Key][] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [[input, key]];
  return chars.map((c): [string, Key] => {
    if (c === '\r' || c === '\n') return ['', { ...NO_KEY, return: true }];
    if (c === '\x7f' || c === '\b') return ['', { ...NO_KEY, backspace: true }];
    if (c === '\t') return ['', { ...NO_KEY, tab: true }];
    // Ctrl-A..Ctrl-Z typed in the same burst (Ctrl-U clears a prompt): a letter with ctrl, as ink reports one alone.
    const code = c.codePointAt(0) ?? 0;
    if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
    return [c, { ...NO_KEY, shift: c !== c.toLowerCase() }];
  });
}
