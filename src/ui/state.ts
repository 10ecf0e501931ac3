import type { ComparisonReport } from '../analysis/comparison.js';
import type { MetricName } from '../analysis/metrics-target.js';
import { messageOf } from '../core/errors.js';
import type { Override, Plan } from '../quant/plan.js';
import type { BisectView, EmitView, FixView, JobEvent, JobKind, JobOutcome, ProbeView } from '../app/session/session-jobs.js';
import { planWithEdits, type Session } from '../app/session/session.js';
import { filterNodes } from './graph-filter.js';
import { scrollTo, TOP, type Viewport } from './viewport.js';

/** The UI as data. Keys (keys.ts) and job events (this file) turn one state into the next. */
export type Screen = 'graph' | 'results' | 'detail' | 'bisect' | 'fix' | 'emit' | 'help';

export interface JobStatus {
  readonly kind: JobKind;
  readonly stage: string;
  readonly done: number;
  readonly total: number;
  readonly detail?: string;
  readonly startedAt: number;
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
}

export interface Message {
  readonly level: 'info' | 'warn' | 'error';
  readonly text: string;
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
    metric: 'cosine',
    report: null,
    resultsView: TOP,
    chartZoom: 1,
    detailScroll: 0,
    job: null,
    bisect: null,
    fix: null,
    emit: null,
    message: { level: 'info', text: 'space taps a node, r runs the comparison, ? shows every key' },
  };
}

/** Rows of the lists a finished job scrolls: the results table and the probe list. */
export interface ListRows {
  readonly results: number;
  readonly probes: number;
}

export type JobAction =
  | { readonly type: 'job-start'; readonly kind: JobKind; readonly at: number }
  | { readonly type: 'job-event'; readonly event: JobEvent }
  | { readonly type: 'job-cancelling' }
  | { readonly type: 'job-done'; readonly outcome: JobOutcome; readonly at: number; readonly rows: ListRows }
  | { readonly type: 'job-failed'; readonly error: string; readonly cancelled: boolean };

const JOB_SCREEN: Readonly<Record<JobKind, Screen>> = { compare: 'results', bisect: 'bisect', fix: 'fix', emit: 'emit' };

const emptyRun = <R>(): ProbeRun<R> => ({ probes: [], result: null, error: null, view: TOP, applied: false });

/** Applies a job's lifecycle to the state. */
export function reduceJob(state: UiState, action: JobAction): UiState {
  switch (action.type) {
    case 'job-start': {
      const job: JobStatus = { kind: action.kind, stage: 'starting', done: 0, total: 0, startedAt: action.at, cancelling: false };
      const next: UiState = { ...state, job, message: null };
      if (action.kind === 'bisect') return { ...next, bisect: emptyRun(), screen: 'bisect' };
      if (action.kind === 'fix') return { ...next, fix: emptyRun(), screen: 'fix' };
      if (action.kind === 'emit') return { ...next, emit: { result: null, error: null }, screen: 'emit' };
      return next;
    }
    case 'job-event':
      return onEvent(state, action.event);
    case 'job-cancelling':
      return state.job
        ? { ...state, job: { ...state.job, cancelling: true, stage: 'cancelling', detail: 'finishing the current step' } }
        : state;
    case 'job-done':
      return onDone(state, action.outcome, action.at, action.rows);
    case 'job-failed': {
      if (!state.job) return state;
      const kind = state.job.kind;
      const text = action.cancelled
        ? `${kind} cancelled; the session and any run directory are left consistent`
        : `${kind} failed: ${action.error}`;
      const message: Message = { level: action.cancelled ? 'warn' : 'error', text };
      const next: UiState = { ...state, job: null, message };
      if (kind === 'bisect' && state.bisect) return { ...next, bisect: { ...state.bisect, error: text } };
      if (kind === 'fix' && state.fix) return { ...next, fix: { ...state.fix, error: text } };
      if (kind === 'emit' && state.emit) return { ...next, emit: { ...state.emit, error: text } };
      return next;
    }
  }
}

function onEvent(state: UiState, event: JobEvent): UiState {
  const job = state.job;
  if (!job) return state;
  switch (event.type) {
    case 'stage':
      return { ...state, job: { ...job, stage: job.cancelling ? job.stage : event.stage, detail: event.detail, done: 0, total: 0 } };
    case 'progress':
      return {
        ...state,
        job: { ...job, stage: job.cancelling ? job.stage : event.stage, done: event.done, total: event.total, detail: event.detail },
      };
    case 'log':
      return { ...state, message: { level: event.level, text: event.message } };
    case 'probe': {
      if (job.kind === 'bisect' && state.bisect)
        return { ...state, bisect: { ...state.bisect, probes: [...state.bisect.probes, event.probe] } };
      if (job.kind === 'fix' && state.fix) return { ...state, fix: { ...state.fix, probes: [...state.fix.probes, event.probe] } };
      return state;
    }
  }
}

/** The probe list scrolled to its last probe, where the search ended. */
function atEnd<R>(run: ProbeRun<R>, result: R, rows: number): ProbeRun<R> {
  return { ...run, result, view: scrollTo(TOP, run.probes.length - 1, run.probes.length, rows) };
}

function onDone(state: UiState, outcome: JobOutcome, at: number, rows: ListRows): UiState {
  const resultRows = rows.results;
  const seconds = state.job ? ((at - state.job.startedAt) / 1000).toFixed(1) : '?';
  const base: UiState = { ...state, job: null };
  switch (outcome.kind) {
    case 'compare': {
      const report = outcome.report;
      const first = report.firstFailing === null ? -1 : report.rows.findIndex((r) => r.tensor === report.firstFailing);
      const resultsView = first >= 0 ? scrollTo(TOP, first, report.rows.length, resultRows) : TOP;
      const failing = report.rows.filter((r) => !r.pass).length;
      const text = `compared ${report.rows.length} tensor(s) in ${seconds} s; ${failing} fail ${report.metric} ${report.threshold}`;
      return {
        ...base,
        report,
        resultsView,
        screen: state.screen === 'help' ? 'help' : JOB_SCREEN.compare,
        helpReturn: 'results',
        metric: report.metric,
        message: { level: failing > 0 ? 'warn' : 'info', text },
      };
    }
    case 'bisect':
      return {
        ...base,
        bisect: atEnd(state.bisect ?? emptyRun<BisectView>(), outcome.result, rows.probes),
        message: { level: 'info', text: `bisect done in ${seconds} s: ${outcome.result.summary}` },
      };
    case 'fix':
      return {
        ...base,
        fix: atEnd(state.fix ?? emptyRun<FixView>(), outcome.result, rows.probes),
        message: { level: outcome.result.reached ? 'info' : 'warn', text: `fix done in ${seconds} s: ${outcome.result.summary}` },
      };
    case 'emit':
      return {
        ...base,
        emit: { result: outcome.result, error: null },
        message: { level: outcome.result.verified ? 'info' : 'error', text: outcome.result.summary },
      };
  }
}

/** Adds overrides to the session's edits (a spec already edited keeps only its new value). */
export function applyOverrides(state: UiState, session: Session, overrides: readonly Override[]): UiState {
  const specs = new Set(overrides.map(([s]) => s));
  const edits = [...state.edits.filter(([s]) => !specs.has(s)), ...overrides];
  try {
    return { ...state, edits, plan: planWithEdits(session, edits) };
  } catch (error) {
    return { ...state, message: { level: 'error', text: messageOf(error) } };
  }
}
