import type { Key } from 'ink';
import { METRIC_NAMES } from '../analysis/metrics-target.js';
import { displayName } from '../core/closest.js';
import { nextZoom } from './depth-chart.js';
import { detailPane } from './detail-pane.js';
import { detailPageHeight, detailScrollKey } from './detail-scroll.js';
import { editRefusal, showNode } from './keys-graph.js';
import { movement, say } from './keys-list.js';
import { searchFor } from './keys-prompt.js';
import type { KeyContext } from './key-types.js';
import { sameEdits } from './plan-edits.js';
import { positionOf, resultOrder, rowAt, SORT_COLUMNS } from './result-order.js';
import { diffReports } from '../analysis/report-diff.js';
import { wrappedPlanLines } from './plan-lines.js';
import { runPair } from './runs.js';
import { applyOverrides, type ListScreen, type UiState } from './state.js';
import { moveCursor, scrollTo, TOP } from './viewport.js';

/** n/N: the next/previous match of the screen's last search; null when there is none. */
function nextMatch(state: UiState, screen: ListScreen, input: string, kc: KeyContext): UiState | null {
  const query = state.search[screen];
  if ((input !== 'n' && input !== 'N') || !query) return null;
  return searchFor(state, screen, query, input === 'n' ? 1 : -1, false, kc);
}

/** The graph screen on the node that produces `tensor` (or named `node`). */
function locate(state: UiState, kc: KeyContext, tensor: string, node?: string): UiState {
  const nodes = kc.session.ctx.graph.nodes;
  const found =
    (node !== undefined ? nodes.find((n) => n.name === node) : undefined) ?? nodes.find((n) => tensor !== '' && n.outputs.includes(tensor));
  if (!found) return say(state, `${displayName(tensor, 40)} is a graph input: no node produces it`, 'warn');
  return showNode(state, found.index, kc);
}

export function resultsKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
  const report = state.report;
  if (!report) return null;
  const count = report.rows.length;
  const moved = movement(state.resultsView, input, key, count, kc.layout.resultRows);
  if (moved) return { ...state, resultsView: moved };
  if (key.return && count > 0) return { ...state, screen: 'detail', detailScroll: 0 };
  if (input === 'z') return { ...state, chartZoom: nextZoom(state.chartZoom) };
  if (input === 'm' || input === 'M') {
    const at = METRIC_NAMES.indexOf(state.metric);
    const metric = METRIC_NAMES[(at + (input === 'm' ? 1 : -1) + METRIC_NAMES.length) % METRIC_NAMES.length];
    const gate = metric === report.metric ? 'the gate' : `pass/fail stays ${report.metric} ${report.threshold}; s changes the gate`;
    return say(reorder({ ...state, metric }, state.sort), `showing ${metric} (${gate})`);
  }
  const match = nextMatch(state, 'results', input, kc);
  if (match) return match;
  if (input === 'n') {
    if (report.firstFailing === null) return say(state, 'no tensor fails the gate');
    const row = report.rows.findIndex((r) => r.tensor === report.firstFailing);
    return { ...state, resultsView: scrollTo(state.resultsView, positionOf(state.order, row), count, kc.layout.resultRows) };
  }
  if (input === 'S' || input === 'I') {
    const at = SORT_COLUMNS.findIndex((c) => c.column === state.sort.column);
    const sort =
      input === 'S'
        ? { column: SORT_COLUMNS[(at + 1) % SORT_COLUMNS.length].column, descending: false }
        : { ...state.sort, descending: !state.sort.descending };
    const label = SORT_COLUMNS.find((c) => c.column === sort.column)?.label ?? sort.column;
    const worst = sort.column === 'accumulated' || sort.column === 'own';
    const direction = worst ? (sort.descending ? 'best first' : 'worst first') : sort.descending ? 'reversed' : '';
    return say(reorder(state, sort), `sorted by ${label}${direction ? `, ${direction}` : ''} (S next column, I inverts)`);
  }
  if (input === 'l' && count > 0) {
    const row = report.rows[rowAt(state.order, state.resultsView.cursor)];
    return locate(state, kc, row.tensor, row.node);
  }
  return null;
}

/** The state with the results in `sort` order, the cursor kept on the same row. */
function reorder(state: UiState, sort: UiState['sort']): UiState {
  const report = state.report;
  if (!report) return { ...state, sort };
  const row = rowAt(state.order, state.resultsView.cursor);
  const order = resultOrder(report, sort, state.metric);
  const position = positionOf(order, row);
  return { ...state, sort, order, resultsView: { cursor: position, offset: Math.max(0, position - 3) } };
}

export function detailKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
  const report = state.report;
  if (!report) return { ...state, screen: 'graph' };
  if (key.return || key.backspace) return { ...state, screen: 'results' };
  if (key.upArrow || input === 'k')
    return { ...state, detailScroll: 0, resultsView: moveCursor(state.resultsView, -1, report.rows.length, kc.layout.resultRows) };
  if (key.downArrow || input === 'j')
    return { ...state, detailScroll: 0, resultsView: moveCursor(state.resultsView, 1, report.rows.length, kc.layout.resultRows) };
  // The pane's lines depend on the width they wrap to: count them as the view draws them.
  const lines = detailPane(report, rowAt(state.order, state.resultsView.cursor), kc.layout.width).length;
  const scroll = detailScrollKey(state.detailScroll, key, lines, detailPageHeight(kc.layout.body));
  if (scroll !== null) return { ...state, detailScroll: scroll };
  if (input === 'l') {
    const row = report.rows[rowAt(state.order, state.resultsView.cursor)];
    return locate(state, kc, row.tensor, row.node);
  }
  return null;
}

export function findingsKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
  const findings = state.report?.findings ?? [];
  const moved = movement(state.views.findings, input, key, findings.length, kc.layout.pageRows);
  if (moved) return { ...state, views: { ...state.views, findings: moved } };
  const match = nextMatch(state, 'findings', input, kc);
  if (match) return match;
  const finding = findings[state.views.findings.cursor];
  const tensor = finding?.tensors[0];
  if ((key.return || input === 'l') && finding && !tensor) return say(state, `the ${finding.rule} finding names no tensor`);
  if (key.return && tensor && state.report) {
    const row = state.report.rows.findIndex((r) => r.tensor === tensor);
    if (row < 0) return locate(state, kc, tensor);
    const view = scrollTo(state.resultsView, positionOf(state.order, row), state.report.rows.length, kc.layout.resultRows);
    return { ...state, screen: 'results', resultsView: view };
  }
  if (input === 'l' && tensor) return locate(state, kc, tensor);
  return null;
}

export function runsKey(state: UiState, input: string, key: Key, kc: KeyContext): UiState | null {
  if (state.diff) {
    const pair = runPair(state);
    const count = pair ? diffReports(pair.baseline.report, pair.run.report, state.metric).rows.length : 0;
    const scrolled = movement(state.diffView, input, key, count, kc.layout.pageRows - 2);
    if (scrolled) return { ...state, diffView: scrolled };
    if (key.return || key.backspace) return { ...state, diff: false };
    return null;
  }
  const moved = movement(state.views.runs, input, key, state.runs.length, kc.layout.pageRows);
  if (moved) return { ...state, views: { ...state.views, runs: moved } };
  const match = nextMatch(state, 'runs', input, kc);
  if (match) return match;
  const run = state.runs[state.views.runs.cursor];
  if (!run) return null;
  if (input === ' ')
    return say({ ...state, baseline: run.id, diff: false }, `run #${run.id} is the baseline; Enter compares a run with it`);
  if (key.return) {
    const baseline = state.baseline ?? state.runs[0]?.id;
    if (baseline === run.id) return say(state, 'this run is the baseline: move to another run (space sets the baseline)', 'warn');
    return { ...state, diff: true, diffView: TOP, baseline: baseline ?? null };
  }
  return null;
}

export function helpKey(state: UiState, input: string, key: Key, kc: KeyContext, lines: number): UiState {
  const moved = movement(state.views.help, input, key, lines, kc.layout.pageRows);
  if (moved) return { ...state, views: { ...state.views, help: moved } };
  const match = nextMatch(state, 'help', input, kc);
  if (match) return match;
  return { ...state, screen: state.helpReturn };
}

export function probeKey(state: UiState, screen: 'bisect' | 'fix', input: string, key: Key, kc: KeyContext): UiState | null {
  const run = screen === 'bisect' ? state.bisect : state.fix;
  if (!run) return null;
  const moved = movement(run.view, input, key, run.probes.length, kc.layout.probeRows);
  if (moved)
    return screen === 'bisect'
      ? { ...state, bisect: state.bisect ? { ...state.bisect, view: moved } : null }
      : { ...state, fix: state.fix ? { ...state.fix, view: moved } : null };
  const match = nextMatch(state, screen, input, kc);
  if (match) return match;
  if (input === 'l' && run.probes.length > 0) {
    const probe = run.probes[run.view.cursor];
    if (probe.kind === 'promote' && probe.region && probe.region.length > 0) return locate(state, kc, '', probe.region[0].node);
    if (probe.kind === 'evaluate')
      return say(state, `#${probe.step} measures a whole plan at the outputs, not one tensor: nothing to show in the graph`);
    return locate(state, kc, probe.tensor, probe.node);
  }
  if (key.return || input === 'y') return applyPlan(state, screen, kc);
  return null;
}

/** Enter on a finished bisect or fix: its plan joins the session's edits, if it was found on them. */
function applyPlan(state: UiState, screen: 'bisect' | 'fix', kc: KeyContext): UiState {
  const run = screen === 'bisect' ? state.bisect : state.fix;
  if (!run?.result) return say(state, `the ${screen} has no result yet`, 'warn');
  const refusal = editRefusal(state);
  if (refusal) return say(state, refusal, 'warn');
  if (run.applied) return say(state, `the ${screen}'s plan is already applied`);
  if (!sameEdits(run.edits, state.edits))
    return say(
      state,
      `this ${screen} ran on an earlier plan; the plan changed since, so ${screen === 'bisect' ? 'b' : 'f'} runs it again`,
      'warn',
    );
  const stale = state.stale[screen];
  if (stale) return say(state, `this ${screen} is stale (${stale}); ${screen === 'bisect' ? 'b' : 'f'} runs it again`, 'warn');
  const overrides = screen === 'bisect' ? (state.bisect?.result?.suggested ?? []) : (state.fix?.result?.overrides ?? []);
  if (overrides.length === 0) return say(state, 'nothing to apply');
  const applied = applyOverrides(state, kc.session, overrides);
  if (applied.message?.level === 'error') return applied;
  const text = `applied ${overrides.length} override(s): ${overrides.map(([s, p]) => `${displayName(s, 40)}=${p}`).join(', ')}; r measures the plan`;
  // A fix's plan is the plan its last evaluation measured (on the edits it ran on, checked above); a bisect's suggestion is not.
  const marked = { ...say(applied, text), planEvaluated: screen === 'fix' ? true : applied.planEvaluated };
  return screen === 'bisect'
    ? { ...marked, bisect: marked.bisect ? { ...marked.bisect, applied: true } : null }
    : { ...marked, fix: marked.fix ? { ...marked.fix, applied: true } : null };
}

/** The plan screen scrolls by lines: ↑↓ one, PgUp PgDn a page, Home End the ends. */
export function planKey(state: UiState, key: Key, kc: KeyContext): UiState | null {
  const page = Math.max(1, kc.layout.pageRows);
  const at = state.planScroll;
  let next: number | null = null;
  if (key.upArrow) next = at - 1;
  else if (key.downArrow) next = at + 1;
  else if (key.pageUp) next = at - page;
  else if (key.pageDown) next = at + page;
  else if (key.home) next = 0;
  else if (key.end) next = Number.MAX_SAFE_INTEGER;
  if (next === null) return null;
  const last = Math.max(0, wrappedPlanLines(state, kc.session, kc.layout.width).length - page);
  return { ...state, planScroll: Math.max(0, Math.min(next, last)) };
}
