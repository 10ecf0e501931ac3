import type { Key } from 'ink';
import { editPrecision, nextPrecision } from '../app/session/session.js';
import { closestNames, displayName } from '../core/closest.js';
import { FILTER_PRESETS, filterNodes } from './graph-filter.js';
import { movement, say } from './keys-list.js';
import type { KeyContext } from './key-types.js';
import { positionOf } from './result-order.js';
import { withEdits, type UiState } from './state.js';
import { moveCursor, scrollTo, TOP } from './viewport.js';

/** Why a plan edit is refused now, or null: edits wait until the running job ends. */
export function editRefusal(state: UiState): string | null {
  if (!state.job) return null;
  return `${state.job.kind} is running on the plan as it was; edit the plan when it ends (Esc cancels it)`;
}

/** The graph screen's own keys; `null` when the key means nothing here. */
export function graphKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
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
    return say({ ...state, taps }, all ? `untapped ${outs.length} tensor(s)` : `tapped ${outs.length} tensor(s) shown by the filter`);
  }
  if (input === 'c') return say({ ...state, taps: new Set() }, 'taps cleared');
  if (input === 'p' && node) {
    const refusal = editRefusal(state);
    if (refusal) return say(state, refusal, 'warn');
    const precision = nextPrecision(kc.session.profile, node, state.plan.precision.get(node.name));
    const edits = editPrecision(state.edits, node, precision, kc.session.basePlan.precision.get(node.name));
    return say(withEdits(state, kc.session, edits), `${displayName(node.name, 40)} → ${precision} (not yet evaluated; r compares)`);
  }
  if (input === 'u') {
    const refusal = editRefusal(state);
    if (refusal) return say(state, refusal, 'warn');
    if (state.edits.length === 0) return say(state, 'no precision edits to undo');
    // More than one edit (a fix's plan applied, a plan opened) is work: the second u confirms.
    if (state.edits.length > 1 && !state.confirmUndo)
      return { ...say(state, `u again undoes all ${state.edits.length} edits; any other key keeps them`, 'warn'), confirmUndo: true };
    return say({ ...withEdits(state, kc.session, []), confirmUndo: false }, `${state.edits.length} precision edit(s) undone`);
  }
  if ((key.return || input === 'l') && node) {
    if (!state.report) return say(state, 'no comparison yet: r runs one', 'warn');
    const row = state.report.rows.findIndex((r) => node.outputs.includes(r.tensor));
    if (row < 0) return say(state, `${displayName(node.name, 40)} was not compared: tap it (space) and run (r)`, 'warn');
    const view = scrollTo(state.resultsView, positionOf(state.order, row), state.report.rows.length, kc.layout.resultRows);
    return { ...state, screen: key.return ? 'detail' : 'results', resultsView: view, detailScroll: 0 };
  }
  return null;
}

/** The graph screen showing `node` (by index): the filter is cleared when it hides the node. */
export function showNode(state: UiState, nodeIndex: number, kc: KeyContext): UiState {
  let next = state;
  if (!state.filter.indices.includes(nodeIndex)) next = setFilter(state, '', kc);
  const at = next.filter.indices.indexOf(nodeIndex);
  return { ...next, screen: 'graph', graphView: scrollTo(next.graphView, at, next.filter.indices.length, kc.layout.graphRows) };
}

function setFilter(state: UiState, text: string, kc: KeyContext): UiState {
  const result = filterNodes(kc.session.ctx.graph, text);
  if (!result.ok) return { ...state, filter: { ...state.filter, error: result.error }, message: { level: 'error', text: result.error } };
  return { ...state, filter: { text, draft: null, indices: result.indices, error: null }, graphView: TOP };
}

/** When a filter shows nothing: the closest node names, as the CLI suggests them. */
function noMatch(state: UiState, text: string, kc: KeyContext): string {
  const names = kc.session.ctx.graph.nodes.map((n) => n.name);
  const word =
    text
      .split(',')
      .at(-1)
      ?.trim()
      .replace(/^(re:|op:)/, '') ?? text;
  const close = closestNames(word, names, 3).map((n) => displayName(n, 30));
  return `no node matches '${displayName(text, 40)}'${close.length > 0 ? `; closest: ${close.join(', ')}` : ''}`;
}

/** A key while the filter is being typed (after `/` on the graph screen): it takes every key. */
export function editFilter(state: UiState, input: string, key: Key, kc: KeyContext): UiState {
  const draft = state.filter.draft ?? '';
  if (key.escape) return { ...setFilter({ ...state, filter: { ...state.filter, draft: null } }, state.filter.text, kc), message: null };
  if (key.return) {
    const result = filterNodes(kc.session.ctx.graph, draft);
    if (!result.ok) return { ...state, filter: { ...state.filter, error: result.error }, message: { level: 'error', text: result.error } };
    const message = result.indices.length === 0 ? { level: 'warn' as const, text: noMatch(state, draft, kc) } : null;
    return { ...state, filter: { text: draft, draft: null, indices: result.indices, error: null }, graphView: TOP, message };
  }
  let next = draft;
  if (key.backspace || key.delete) next = [...draft].slice(0, -1).join('');
  else if (key.ctrl && input === 'u') next = '';
  else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow)
    next = draft + input.replace(/[\x00-\x1f\x7f]/g, '');
  if (next === draft) return state;
  const result = filterNodes(kc.session.ctx.graph, next);
  // The error in full on the status line: the filter line has room only for `invalid`.
  if (!result.ok)
    return { ...state, filter: { ...state.filter, draft: next, error: result.error }, message: { level: 'error', text: result.error } };
  const message = result.indices.length === 0 && next.trim() !== '' ? { level: 'warn' as const, text: noMatch(state, next, kc) } : null;
  return { ...state, filter: { ...state.filter, draft: next, indices: result.indices, error: null }, graphView: TOP, message };
}
