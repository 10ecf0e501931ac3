import { higherIsBetter } from '../analysis/metrics-target.js';
import type { BisectView, EmitView, FixView, JobEvent, JobKind, JobOutcome } from '../app/session/session-jobs.js';
import type { Override } from '../quant/plan.js';
import { sameEdits } from './plan-edits.js';
import { resultOrder, positionOf } from './result-order.js';
import type { JobStatus, Message, ProbeRun, RunRecord, Screen, UiState } from './state.js';
import { scrollTo, TOP } from './viewport.js';

/** Rows of the lists a finished job scrolls: the results table and the probe list. */
export interface ListRows {
  readonly results: number;
  readonly probes: number;
}

export type JobAction =
  | { readonly type: 'job-start'; readonly kind: JobKind; readonly at: number; readonly edits?: readonly Override[] }
  | { readonly type: 'job-event'; readonly event: JobEvent; readonly at?: number }
  | { readonly type: 'job-cancelling' }
  | { readonly type: 'job-done'; readonly outcome: JobOutcome; readonly at: number; readonly rows: ListRows }
  | { readonly type: 'job-failed'; readonly error: string; readonly cancelled: boolean };

const JOB_SCREEN: Readonly<Record<JobKind, Screen>> = { compare: 'results', bisect: 'bisect', fix: 'fix', emit: 'emit' };

const emptyRun = <R>(edits: readonly Override[]): ProbeRun<R> => ({
  probes: [],
  result: null,
  error: null,
  view: TOP,
  applied: false,
  edits,
});

/** Applies a job's lifecycle to the state. */
export function reduceJob(state: UiState, action: JobAction): UiState {
  switch (action.type) {
    case 'job-start': {
      const job: JobStatus = {
        kind: action.kind,
        stage: 'starting',
        done: 0,
        total: 0,
        startedAt: action.at,
        paceFrom: null,
        cancelling: false,
      };
      const edits = action.edits ?? state.edits;
      const next: UiState = { ...state, job, jobEdits: edits, message: null, confirmQuit: false };
      if (action.kind === 'bisect') return { ...next, bisect: emptyRun(edits), screen: 'bisect' };
      if (action.kind === 'fix') return { ...next, fix: emptyRun(edits), screen: 'fix' };
      if (action.kind === 'emit') return { ...next, emit: { result: null, error: null }, screen: 'emit' };
      return next;
    }
    case 'job-event':
      return onEvent(state, action.event, action.at);
    case 'job-cancelling':
      return state.job
        ? { ...state, job: { ...state.job, cancelling: true, stage: 'cancelling', detail: 'stopping the current model run' } }
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
      const next: UiState = { ...state, job: null, jobEdits: null, message };
      if (kind === 'bisect' && state.bisect) return { ...next, bisect: { ...state.bisect, error: text } };
      if (kind === 'fix' && state.fix) return { ...next, fix: { ...state.fix, error: text } };
      if (kind === 'emit' && state.emit) return { ...next, emit: { ...state.emit, error: text } };
      return next;
    }
  }
}

function onEvent(state: UiState, event: JobEvent, at: number | undefined): UiState {
  const job = state.job;
  if (!job) return state;
  switch (event.type) {
    case 'stage':
      return {
        ...state,
        job: {
          ...job,
          stage: job.cancelling ? job.stage : event.stage,
          detail: event.detail,
          done: 0,
          total: 0,
          paceFrom: null,
        },
      };
    case 'progress': {
      // A new stage name (or the first count of a stage) restarts the pace the time left reads.
      const restarted = (event.stage !== job.stage || job.paceFrom === null || event.done < job.paceFrom.done) && !job.cancelling;
      return {
        ...state,
        job: {
          ...job,
          stage: job.cancelling ? job.stage : event.stage,
          done: event.done,
          total: event.total,
          detail: event.detail,
          paceFrom: restarted ? (at === undefined ? null : { at, done: event.done }) : job.paceFrom,
        },
      };
    }
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

function withoutStale(state: UiState, kind: 'compare' | 'bisect' | 'fix'): UiState['stale'] {
  const stale = { ...state.stale };
  delete stale[kind];
  return stale;
}

function onDone(state: UiState, outcome: JobOutcome, at: number, rows: ListRows): UiState {
  const seconds = state.job ? ((at - state.job.startedAt) / 1000).toFixed(1) : '?';
  const edits = state.jobEdits ?? state.edits;
  // The job measured the plan now in force only if no edit came in while it ran.
  const measuredCurrent = sameEdits(edits, state.edits);
  const base: UiState = { ...state, job: null, jobEdits: null };
  switch (outcome.kind) {
    case 'compare': {
      const report = outcome.report;
      const order = resultOrder(report, state.sort, report.metric);
      const first = report.firstFailing === null ? -1 : report.rows.findIndex((r) => r.tensor === report.firstFailing);
      const resultsView = first >= 0 ? scrollTo(TOP, positionOf(order, first), report.rows.length, rows.results) : TOP;
      const failing = report.rows.filter((r) => !r.pass).length;
      const gate = `${report.metric} ${higherIsBetter(report.metric) ? '≥' : '≤'} ${report.threshold}`;
      const run: RunRecord = {
        id: (state.runs.at(-1)?.id ?? 0) + 1,
        label: `${edits.length === 0 ? 'base plan' : `${edits.length} edit${edits.length === 1 ? '' : 's'}`} · ${gate}`,
        report,
        edits,
      };
      const text = `compared ${report.rows.length} tensor(s) in ${seconds} s; ${failing} fail ${gate}`;
      return {
        ...base,
        report,
        order,
        resultsView,
        runs: [...state.runs, run],
        screen: state.screen === 'help' ? 'help' : JOB_SCREEN.compare,
        helpReturn: 'results',
        metric: report.metric,
        planEvaluated: state.planEvaluated || measuredCurrent,
        stale: withoutStale(state, 'compare'),
        message: { level: failing > 0 ? 'warn' : 'info', text },
      };
    }
    case 'bisect':
      return {
        ...base,
        bisect: atEnd(state.bisect ?? emptyRun<BisectView>(edits), outcome.result, rows.probes),
        stale: withoutStale(state, 'bisect'),
        message: { level: 'info', text: `bisect done in ${seconds} s: ${outcome.result.summary}` },
      };
    case 'fix':
      return {
        ...base,
        fix: atEnd(state.fix ?? emptyRun<FixView>(edits), outcome.result, rows.probes),
        stale: withoutStale(state, 'fix'),
        message: { level: outcome.result.reached ? 'info' : 'warn', text: `fix done in ${seconds} s: ${outcome.result.summary}` },
      };
    case 'emit': {
      const result: EmitView = outcome.result;
      return {
        ...base,
        emit: { result, error: null },
        planEvaluated: state.planEvaluated || measuredCurrent,
        message: { level: result.verified ? 'info' : 'error', text: result.summary },
      };
    }
  }
}
