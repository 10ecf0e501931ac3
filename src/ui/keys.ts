import type { Key } from 'ink';
import { METRIC_NAMES } from '../analysis/metrics-target.js';
import type { JobKind, JobRequest } from '../app/session/session-jobs.js';
import { editPrecision, nextPrecision, planWithEdits, type Session } from '../app/session/session.js';
import { displayName } from '../core/closest.js';
import { messageOf } from '../core/errors.js';
import { nextZoom } from './depth-chart.js';
import { detailPane } from './detail-pane.js';
import { detailPageHeight, detailScrollKey } from './detail-scroll.js';
import { FILTER_PRESETS, filterNodes } from './graph-filter.js';
import type { Layout } from './layout.js';
import { applyOverrides, type Screen, type UiState } from './state.js';
import { moveCursor, pageBy, scrollTo, TOP, type Viewport } from './viewport.js';

/** What a key asks the app to do beyond changing state. */
export type Effect = { readonly type: 'start'; readonly request: JobRequest } | { readonly type: 'cancel' } | { readonly type: 'quit' };

export interface KeyResult {
  readonly state: UiState;
  readonly effect?: Effect;
}

export interface KeyContext {
  readonly session: Session;
  readonly layout: Layout;
}

/** Maps one keypress to the next state and an effect. Pure; App.tsx performs the effect. */
export function handleKey(state: UiState, input: string, key: Key, kc: KeyContext): KeyResult {
  if (state.filter.draft !== null) return { state: editFilter(state, input, key, kc) };
  if ((key.ctrl && input === 'c') || input === 'q') return { state, effect: { type: 'quit' } };
  if (key.escape) {
    if (state.job) return { state, effect: { type: 'cancel' } };
    return { state: { ...state, screen: backFrom(state.screen, state.helpReturn) } };
  }
  if (input === '?') {
    return {
      state: state.screen === 'help' ? { ...state, screen: state.helpReturn } : { ...state, screen: 'help', helpReturn: state.screen },
    };
  }
  if (key.tab) return { state: { ...state, screen: nextScreen(state, key.shift ? -1 : 1) } };
  const job = startKey(state, input, kc);
  if (job) return job;
  switch (state.screen) {
    case 'graph':
      return { state: graphKey(state, input, key, kc) };
    case 'results':
      return { state: resultsKey(state, input, key, kc) };
    case 'detail':
      return { state: detailKey(state, input, key, kc) };
    case 'bisect':
    case 'fix':
      return { state: probeKey(state, state.screen, input, key, kc) };
    case 'help':
      return { state: { ...state, screen: state.helpReturn } };
    default:
      return { state };
  }
}

function backFrom(screen: Screen, helpReturn: Screen): Screen {
  if (screen === 'detail') return 'results';
  if (screen === 'help') return helpReturn;
  return 'graph';
}

/** The screens that have something to show, in Tab order. */
export function availableScreens(state: UiState): Screen[] {
  const list: Screen[] = ['graph'];
  if (state.report) list.push('results');
  if (state.bisect) list.push('bisect');
  if (state.fix) list.push('fix');
  if (state.emit) list.push('emit');
  return list;
}

function nextScreen(state: UiState, step: number): Screen {
  const list = availableScreens(state);
  const current = state.screen === 'detail' ? 'results' : state.screen === 'help' ? state.helpReturn : state.screen;
  const at = Math.max(0, list.indexOf(current));
  return list[(at + step + list.length) % list.length];
}

const START_KEYS: Readonly<Record<string, JobKind>> = { r: 'compare', b: 'bisect', f: 'fix', e: 'emit' };

function startKey(state: UiState, input: string, kc: KeyContext): KeyResult | null {
  const kind = START_KEYS[input];
  if (!kind || state.screen === 'help') return null;
  if (state.job) return { state: { ...state, message: { level: 'warn', text: `${state.job.kind} is running; Esc cancels it` } } };
  const graph = kc.session.ctx.graph;
  const taps = graph.nodes.flatMap((n) => n.outputs.filter((o) => state.taps.has(o)));
  const request: JobRequest = kind === 'compare' ? { kind, edits: state.edits, taps } : { kind, edits: state.edits };
  return { state, effect: { type: 'start', request } };
}

/** Up/down/page/home/end on a list; null when the key is not a movement. */
function movement(view: Viewport, input: string, key: Key, count: number, height: number): Viewport | null {
  if (key.upArrow || input === 'k') return moveCursor(view, -1, count, height);
  if (key.downArrow || input === 'j') return moveCursor(view, 1, count, height);
  if (key.pageUp) return pageBy(view, -1, count, height);
  if (key.pageDown) return pageBy(view, 1, count, height);
  if (key.home || input === 'g') return scrollTo(view, 0, count, height);
  if (key.end || input === 'G') return scrollTo(view, count - 1, count, height);
  return null;
}

function graphKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState {
  const { graph } = kc.session.ctx;
  const shown = state.filter.indices;
  const moved = movement(state.graphView, input, key, shown.length, kc.layout.graphRows);
  if (moved) return { ...state, graphView: moved };
  const node = shown.length > 0 ? graph.nodes[shown[state.graphView.cursor]] : undefined;
  if (input === '/') return { ...state, filter: { ...state.filter, draft: state.filter.text } };
  if (input === '0') return setFilter(state, '', kc);
  const preset = FILTER_PRESETS.find((p) => p.key === input);
  if (preset) return setFilter(state, preset.spec, kc);
  if (input === ' ' && node) {
    const outs = node.outputs.filter((o) => o !== '');
    const taps = new Set(state.taps);
    const on = !outs.some((o) => taps.has(o));
    for (const o of outs)
      if (on) taps.add(o);
      else taps.delete(o);
    return { ...state, taps, graphView: moveCursor(state.graphView, 1, shown.length, kc.layout.graphRows) };
  }
  if (input === 'a') {
    const outs = shown.flatMap((i) => graph.nodes[i].outputs.filter((o) => o !== ''));
    const taps = new Set(state.taps);
    const all = outs.length > 0 && outs.every((o) => taps.has(o));
    for (const o of outs)
      if (all) taps.delete(o);
      else taps.add(o);
    const text = all ? `untapped ${outs.length} tensor(s)` : `tapped ${outs.length} tensor(s) shown by the filter`;
    return { ...state, taps, message: { level: 'info', text } };
  }
  if (input === 'c') return { ...state, taps: new Set(), message: { level: 'info', text: 'taps cleared' } };
  if (input === 'p' && node) {
    const precision = nextPrecision(kc.session.profile, node, state.plan.precision.get(node.name));
    const edits = editPrecision(state.edits, node, precision, kc.session.basePlan.precision.get(node.name));
    try {
      return { ...state, edits, plan: planWithEdits(kc.session, edits) };
    } catch (error) {
      return { ...state, message: { level: 'error', text: messageOf(error) } };
    }
  }
  if (input === 'u') {
    return { ...state, edits: [], plan: kc.session.basePlan, message: { level: 'info', text: 'precision edits undone' } };
  }
  if (key.return && node && state.report) {
    const row = state.report.rows.findIndex((r) => node.outputs.includes(r.tensor));
    if (row >= 0)
      return {
        ...state,
        screen: 'detail',
        detailScroll: 0,
        resultsView: scrollTo(state.resultsView, row, state.report.rows.length, kc.layout.resultRows),
      };
  }
  return state;
}

function setFilter(state: UiState, text: string, kc: KeyContext): UiState {
  const result = filterNodes(kc.session.ctx.graph, text);
  if (!result.ok) return { ...state, filter: { ...state.filter, error: result.error } };
  return { ...state, filter: { text, draft: null, indices: result.indices, error: null }, graphView: TOP };
}

function editFilter(state: UiState, input: string, key: Key, kc: KeyContext): UiState {
  const draft = state.filter.draft ?? '';
  if (key.escape) return setFilter({ ...state, filter: { ...state.filter, draft: null } }, state.filter.text, kc);
  if (key.return) {
    const result = filterNodes(kc.session.ctx.graph, draft);
    if (!result.ok) return { ...state, filter: { ...state.filter, error: result.error }, message: { level: 'error', text: result.error } };
    return { ...state, filter: { text: draft, draft: null, indices: result.indices, error: null }, graphView: TOP, message: null };
  }
  let next = draft;
  if (key.backspace || key.delete) next = [...draft].slice(0, -1).join('');
  else if (key.ctrl && input === 'u') next = '';
  else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow)
    next = draft + input.replace(/[\x00-\x1f\x7f]/g, '');
  if (next === draft) return state;
  const result = filterNodes(kc.session.ctx.graph, next);
  if (!result.ok) return { ...state, filter: { ...state.filter, draft: next, error: result.error } };
  return { ...state, filter: { ...state.filter, draft: next, indices: result.indices, error: null }, graphView: TOP };
}

function resultsKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState {
  const report = state.report;
  if (!report) return state;
  const count = report.rows.length;
  const moved = movement(state.resultsView, input, key, count, kc.layout.resultRows);
  if (moved) return { ...state, resultsView: moved };
  if (key.return && count > 0) return { ...state, screen: 'detail', detailScroll: 0 };
  if (input === 'z') return { ...state, chartZoom: nextZoom(state.chartZoom) };
  if (input === 'm' || input === 'M') {
    const at = METRIC_NAMES.indexOf(state.metric);
    const step = input === 'm' ? 1 : -1;
    return { ...state, metric: METRIC_NAMES[(at + step + METRIC_NAMES.length) % METRIC_NAMES.length] };
  }
  if (input === 'n' && report.firstFailing !== null) {
    const row = report.rows.findIndex((r) => r.tensor === report.firstFailing);
    return { ...state, resultsView: scrollTo(state.resultsView, row, count, kc.layout.resultRows) };
  }
  return state;
}

function detailKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState {
  const report = state.report;
  if (!report) return { ...state, screen: 'graph' };
  if (key.return || key.backspace) return { ...state, screen: 'results' };
  if (key.upArrow || input === 'k')
    return { ...state, detailScroll: 0, resultsView: moveCursor(state.resultsView, -1, report.rows.length, kc.layout.resultRows) };
  if (key.downArrow || input === 'j')
    return { ...state, detailScroll: 0, resultsView: moveCursor(state.resultsView, 1, report.rows.length, kc.layout.resultRows) };
  // The pane's lines depend on the width they wrap to: count them as the view draws them.
  const lines = detailPane(report, state.resultsView.cursor, kc.layout.width).length;
  const scroll = detailScrollKey(state.detailScroll, key, lines, detailPageHeight(kc.layout.body));
  if (scroll !== null) return scroll === state.detailScroll ? state : { ...state, detailScroll: scroll };
  return state;
}

function probeKey(state: UiState, screen: 'bisect' | 'fix', input: string, key: Key, kc: KeyContext): UiState {
  const run = screen === 'bisect' ? state.bisect : state.fix;
  if (!run) return state;
  const moved = movement(run.view, input, key, run.probes.length, kc.layout.probeRows);
  if (moved)
    return screen === 'bisect'
      ? { ...state, bisect: { ...run, view: moved } as typeof state.bisect }
      : { ...state, fix: { ...run, view: moved } as typeof state.fix };
  if ((key.return || input === 'y') && run.result && !run.applied && !state.job) {
    const overrides = screen === 'bisect' ? (state.bisect?.result?.suggested ?? []) : (state.fix?.result?.overrides ?? []);
    if (overrides.length === 0) return { ...state, message: { level: 'info', text: 'nothing to apply' } };
    const applied = applyOverrides(state, kc.session, overrides);
    if (applied.message?.level === 'error') return applied;
    const text = `applied ${overrides.length} override(s): ${overrides.map(([s, p]) => `${displayName(s, 40)}=${p}`).join(', ')}`;
    const marked = { ...applied, message: { level: 'info' as const, text } };
    return screen === 'bisect'
      ? { ...marked, bisect: { ...(marked.bisect as NonNullable<UiState['bisect']>), applied: true } }
      : { ...marked, fix: { ...(marked.fix as NonNullable<UiState['fix']>), applied: true } };
  }
  return state;
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
    return [c, { ...NO_KEY, shift: c !== c.toLowerCase() }];
  });
}
