import { HELP } from './keymap.js';
import { rowAt } from './result-order.js';
import type { Layout } from './layout.js';
import type { ListScreen, UiState } from './state.js';
import { scrollTo, type Viewport } from './viewport.js';

/** The help screen's lines, one per key, as the list `/` searches and the screen scrolls. */
export const HELP_LINES: readonly { readonly section: string; readonly keys: string; readonly description: string }[] = HELP.flatMap((s) =>
  s.keys.map((k) => ({ section: s.title, keys: k.keys, description: k.description })),
);

/** A list screen as `/` and n/N see it: how many items, each item's searchable texts, and its viewport. */
export interface SearchList {
  readonly count: number;
  readonly texts: (i: number) => readonly string[];
  readonly view: Viewport;
  readonly rows: number;
  readonly set: (view: Viewport) => UiState;
}

export function searchList(state: UiState, screen: ListScreen, layout: Layout): SearchList | null {
  switch (screen) {
    case 'results': {
      const report = state.report;
      if (!report) return null;
      return {
        count: report.rows.length,
        texts: (i) => {
          const r = report.rows[rowAt(state.order, i)];
          return [r.tensor, r.node, r.opType];
        },
        view: state.resultsView,
        rows: layout.resultRows,
        set: (view) => ({ ...state, resultsView: view }),
      };
    }
    case 'findings': {
      const findings = state.report?.findings ?? [];
      return {
        count: findings.length,
        texts: (i) => [findings[i].rule, findings[i].message, findings[i].suggestion, ...findings[i].tensors],
        view: state.views.findings,
        rows: layout.pageRows,
        set: (view) => ({ ...state, views: { ...state.views, findings: view } }),
      };
    }
    case 'runs':
      return {
        count: state.runs.length,
        texts: (i) => [`#${state.runs[i].id}`, state.runs[i].label],
        view: state.views.runs,
        rows: layout.pageRows,
        set: (view) => ({ ...state, views: { ...state.views, runs: view } }),
      };
    case 'help':
      return {
        count: HELP_LINES.length,
        texts: (i) => [HELP_LINES[i].section, HELP_LINES[i].keys, HELP_LINES[i].description],
        view: state.views.help,
        rows: layout.pageRows,
        set: (view) => ({ ...state, views: { ...state.views, help: view } }),
      };
    case 'bisect':
    case 'fix': {
      const run = screen === 'bisect' ? state.bisect : state.fix;
      if (!run) return null;
      return {
        count: run.probes.length,
        texts: (i) => {
          const p = run.probes[i];
          return [p.tensor, p.node, p.opType, p.note ?? ''];
        },
        view: run.view,
        rows: layout.probeRows,
        set: (view) =>
          screen === 'bisect'
            ? { ...state, bisect: state.bisect ? { ...state.bisect, view } : null }
            : { ...state, fix: state.fix ? { ...state.fix, view } : null },
      };
    }
  }
}

/** Moves a list's cursor to an item, scrolling as little as needed. */
export function moveTo(list: SearchList, item: number): UiState {
  return list.set(scrollTo(list.view, item, list.count, list.rows));
}
