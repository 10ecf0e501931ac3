import type { ComparisonReport } from '../analysis/comparison.js';
import { resolveMetricName, type MetricName } from '../analysis/metrics-target.js';
import { messageOf } from '../core/errors.js';
import type { Override, Plan } from '../quant/plan.js';
import type { BisectView, EmitView, FixView, JobKind, ProbeView } from '../app/session/session-jobs.js';
import type { SessionSettings } from '../app/session/session-settings.js';
import { planWithEdits, type Session } from '../app/session/session.js';
import { filterNodes } from './graph-filter.js';
import { sameEdits } from './plan-edits.js';
import { TOP, type Viewport } from './viewport.js';

/** The UI as data. Keys (keys.ts) and job events (job-reducer.ts) turn one state into the next. */
export type Screen = 'graph' | 'results' | 'detail' | 'findings' | 'runs' | 'settings' | 'plan' | 'bisect' | 'fix' | 'emit' | 'help';

/** Screens that list things: `/` searches them, and their scroll state lives in `views`. */
export type ListScreen = 'results' | 'findings' | 'runs' | 'bisect' | 'fix' | 'help';

/**
 * A line of text being typed. While one is open it takes every key (modal): Enter submits it,
 * Esc drops it. `search` searches the current list; `save` and `open` take a plan file's path;
 * `setting` edits one field of the settings screen.
 */
export interface Prompt {
  readonly kind: 'search' | 'save' | 'open' | 'setting';
  readonly label: string;
  readonly draft: string;
  /** For `setting`: the field edited. */
  readonly field?: string;
}

/** Columns the results table sorts by; `depth` is the graph's topological order. */
export type SortColumn = 'depth' | 'accumulated' | 'own' | 'name' | 'op';

/** A compare the session has run, kept to compare runs side by side. */
export interface RunRecord {
  readonly id: number;
  /** What it ran with, e.g. `#2 · 3 edits · snrDb ≥ 30`. */
  readonly label: string;
  readonly report: ComparisonReport;
  readonly edits: readonly Override[];
}

export interface JobStatus {
  readonly kind: JobKind;
  readonly stage: string;
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
  readonly startedAt: number;
  /** The stage's first progress seen (time and count): the time left extrapolates the pace since then. */
  readonly paceFrom: { readonly at: number; readonly done: number } | null;
  readonly cancelling: boolean;
}

export interface FilterState {
  /** The filter in force. */
  readonly text: string;
  /** What is being typed after `/`; null when not editing. */
  readonly draft: string | null;
  /** Node indices shown, topological order. */
  readonly indices: readonly number[];
  readonly error: string | null;
}

export interface ProbeRun<R> {
  readonly probes: readonly ProbeView[];
  readonly result: R | null;
  readonly error: string | null;
  readonly view: Viewport;
  readonly applied: boolean;
  /** The edits the search ran on: its plan applies only to the same edits. */
  readonly edits: readonly Override[];
}

export interface Message {
  readonly level: 'info' | 'warn' | 'error';
  readonly text: string;
  /** When it was said (stamped by the app): while a job runs a fresh message shows over the job's stage for a while. */
  readonly at?: number;
}

export interface UiState {
  readonly screen: Screen;
  /** Where help returns to. */
  readonly helpReturn: Screen;
  readonly graphView: Viewport;
  readonly filter: FilterState;
  /** Tapped tensor names. */
  readonly taps: ReadonlySet<string>;
  /** Precision edits made in the session, in order. */
  readonly edits: readonly Override[];
  readonly plan: Plan;
  /** The metric the tables and the chart show. */
  readonly metric: MetricName;
  readonly report: ComparisonReport | null;
  readonly resultsView: Viewport;
  /** The results chart's zoom (ui/depth-chart.ts CHART_ZOOMS). */
  readonly chartZoom: number;
  /** First line shown of the detail pane (ui/detail-scroll.ts); 0 whenever the row changes. */
  readonly detailScroll: number;
  readonly job: JobStatus | null;
  readonly bisect: ProbeRun<BisectView> | null;
  readonly fix: ProbeRun<FixView> | null;
  readonly emit: { readonly result: EmitView | null; readonly error: string | null } | null;
  readonly message: Message | null;
  /** The text entry in progress, if any (it captures every key). */
  readonly prompt: Prompt | null;
  /** The last search per list screen (n/N go to its next/previous match). */
  readonly search: Partial<Readonly<Record<ListScreen, string>>>;
  /** Scroll state of the findings, runs and help lists. */
  readonly views: Readonly<Record<'findings' | 'runs' | 'help', Viewport>>;
  /** First line shown on the plan screen. */
  readonly planScroll: number;
  /** Results table order: positions in it index `order`, which indexes report.rows. */
  readonly sort: { readonly column: SortColumn; readonly descending: boolean };
  readonly order: readonly number[];
  /** Compares of this session, oldest first; `baseline` is the run the others are compared against. */
  readonly runs: readonly RunRecord[];
  readonly baseline: number | null;
  /** Runs screen: showing the diff of the cursor's run against the baseline, scrolled by `diffView`. */
  readonly diff: boolean;
  readonly diffView: Viewport;
  /** Whether the current plan (edits) has been measured by a compare, fix or emit since its last change. */
  readonly planEvaluated: boolean;
  /** The plan file the edits were last saved to or opened from; null when unsaved changes exist. */
  readonly savedTo: string | null;
  /** True while quitting waits for a second `q` (unsaved edits). */
  readonly confirmQuit: boolean;
  /** True while `u` waits for a second `u` before dropping several edits. */
  readonly confirmUndo: boolean;
  /** The plan file last saved or opened: where `w` and `o` start. */
  readonly planFile: string | null;
  /** Results computed before a settings change they depend on, with the reason. */
  readonly stale: Partial<Readonly<Record<'compare' | 'bisect' | 'fix', string>>>;
  /** The edits the job in progress runs on. */
  readonly jobEdits: readonly Override[] | null;
  /** Settings screen: the settings as edited, not yet applied (null: as the session runs). */
  readonly settingsDraft: SessionSettings | null;
  /** What is wrong with the draft, in one sentence (null when it can run). */
  readonly settingsError: string | null;
  readonly settingsView: Viewport;
}

/** The gate's metric: `--metric` when given, else the default gate's (SNR in dB). */
function initialMetric(session: Session): MetricName {
  const given = session.options.metric ? resolveMetricName(session.options.metric) : undefined;
  return given ?? 'snrDb';
}

export function initialState(session: Session, options: { filter?: string } = {}): UiState {
  const filterText = options.filter ?? '';
  const filtered = filterNodes(session.ctx.graph, filterText);
  return {
    screen: 'graph',
    helpReturn: 'graph',
    graphView: TOP,
    filter: {
      text: filtered.ok ? filterText : '',
      draft: null,
      indices: filtered.ok ? filtered.indices : session.ctx.graph.nodes.map((n) => n.index),
      error: filtered.ok ? null : filtered.error,
    },
    taps: new Set(),
    edits: [],
    plan: session.basePlan,
    metric: initialMetric(session),
    report: null,
    resultsView: TOP,
    chartZoom: 1,
    detailScroll: 0,
    job: null,
    bisect: null,
    fix: null,
    emit: null,
    message: { level: 'info', text: 'space taps a node, r runs the comparison, s opens the settings, ? shows every key' },
    prompt: null,
    search: {},
    views: { findings: TOP, runs: TOP, help: TOP },
    planScroll: 0,
    sort: { column: 'depth', descending: false },
    order: [],
    runs: [],
    baseline: null,
    diff: false,
    diffView: TOP,
    planEvaluated: false,
    savedTo: session.options.quant.planFile ?? null,
    confirmQuit: false,
    confirmUndo: false,
    planFile: session.options.quant.planFile ?? null,
    stale: {},
    jobEdits: null,
    settingsDraft: null,
    settingsError: null,
    settingsView: TOP,
  };
}

/**
 * The state with the session's precision edits replaced by `edits`: the plan is resolved again,
 * and the plan counts as changed (not evaluated, not saved) unless it is the same plan.
 * `savedTo` names the file the new edits came from, if any.
 */
export function withEdits(state: UiState, session: Session, edits: readonly Override[], savedTo: string | null = null): UiState {
  try {
    const plan = planWithEdits(session, edits);
    const same = sameEdits(edits, state.edits);
    return {
      ...state,
      edits,
      plan,
      planEvaluated: same ? state.planEvaluated : false,
      savedTo: savedTo ?? (same ? state.savedTo : null),
    };
  } catch (error) {
    return { ...state, message: { level: 'error', text: messageOf(error) } };
  }
}

/** Adds overrides to the session's edits (a spec already edited keeps only its new value). */
export function applyOverrides(state: UiState, session: Session, overrides: readonly Override[]): UiState {
  const specs = new Set(overrides.map(([s]) => s));
  return withEdits(state, session, [...state.edits.filter(([s]) => !specs.has(s)), ...overrides]);
}

/** Whether the plan has edits that no plan file holds (quitting asks first). */
export function hasUnsavedEdits(state: UiState): boolean {
  return state.edits.length > 0 && state.savedTo === null;
}
