import { Box, useApp, useInput } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CancelledError, InternalError, messageOf } from '../../core/errors.js';
import type { JobRunner } from '../../app/session/job-runner.js';
import type { JobRequest } from '../../app/session/session-jobs.js';
import type { Session } from '../../app/session/session.js';
import { METRIC_LABELS, formatDuration } from '../format.js';
import { graphRowView, rowsByTensor } from '../graph-rows.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import { useTicker } from '../hooks/use-ticker.js';
import { handleKey, splitInput, type Effect } from '../keys.js';
import { footerHints } from '../keymap.js';
import { bisectLines, fixLines } from '../probe-lines.js';
import { layoutFor, RESULT_BOX } from '../layout.js';
import { initialState, reduceJob, type JobAction, type UiState } from '../state.js';
import { visibleRange } from '../viewport.js';
import { DetailView } from './DetailView.js';
import { EmitScreen } from './EmitScreen.js';
import { Footer } from './Footer.js';
import { GraphScreen } from './GraphScreen.js';
import { Header } from './Header.js';
import { HelpScreen } from './HelpScreen.js';
import { ProbeScreen } from './ProbeScreen.js';
import { ResultsScreen } from './ResultsScreen.js';
import { StatusLine } from './StatusLine.js';

export interface AppProps {
  readonly session: Session;
  readonly runner: JobRunner;
  /** Fixed size (tests); default: the terminal's, following resizes. */
  readonly width?: number;
  readonly height?: number;
  readonly initialFilter?: string;
  readonly now?: () => number;
  /** Called once when the user quits, after any running job has stopped. */
  readonly onQuit?: () => void;
}

/** The whole TUI: state from keys and job events, one screen at a time between header and footer. */
export function App(props: AppProps): React.JSX.Element {
  const { session, runner } = props;
  const now = props.now ?? Date.now;
  const { exit } = useApp();
  const size = useTerminalSize({ width: props.width, height: props.height });
  const layout = layoutFor(size.width, size.height);
  const [state, setState] = useState<UiState>(() => initialState(session, { filter: props.initialFilter }));
  const ref = useRef(state);
  const job = useRef<AbortController | null>(null);
  const quitting = useRef(false);

  const update = useCallback((fn: (s: UiState) => UiState) => {
    ref.current = fn(ref.current);
    setState(ref.current);
  }, []);
  const dispatch = useCallback((action: JobAction) => update((s) => reduceJob(s, action)), [update]);

  const quit = useCallback(() => {
    props.onQuit?.();
    exit();
  }, [exit, props.onQuit]);

  const start = useCallback(
    (request: JobRequest) => {
      const controller = new AbortController();
      job.current = controller;
      dispatch({ type: 'job-start', kind: request.kind, at: now() });
      runner
        .run(request, (event) => dispatch({ type: 'job-event', event }), controller.signal)
        .then(
          (outcome) => {
            const rows = layoutFor(size.width, size.height);
            dispatch({ type: 'job-done', outcome, at: now(), rows: { results: rows.resultRows, probes: rows.probeRows } });
          },
          (error: unknown) =>
            dispatch({
              type: 'job-failed',
              // A bug is labelled as one; its stack is lost on screen, the message names the place.
              error: error instanceof InternalError ? `internal error: ${messageOf(error)}` : messageOf(error),
              cancelled: error instanceof CancelledError || controller.signal.aborted,
            }),
        )
        .finally(() => {
          if (job.current === controller) job.current = null;
          if (quitting.current) quit();
        });
    },
    [dispatch, now, quit, runner, size.width, size.height],
  );

  const perform = useCallback(
    (effect: Effect) => {
      switch (effect.type) {
        case 'start':
          start(effect.request);
          return;
        case 'cancel':
          if (job.current && !job.current.signal.aborted) {
            job.current.abort(new CancelledError('Cancelled from the terminal UI.'));
            dispatch({ type: 'job-cancelling' });
          }
          return;
        case 'quit':
          if (job.current && quitting.current) {
            quit(); // a second quit does not wait
          } else if (job.current) {
            quitting.current = true;
            job.current.abort(new CancelledError('Cancelled: quitting.'));
            dispatch({ type: 'job-cancelling' });
          } else {
            quit();
          }
      }
    },
    [dispatch, quit, start],
  );

  useInput((input, key) => {
    for (const [one, k] of splitInput(input, key)) {
      const result = handleKey(ref.current, one, k, { session, layout });
      if (result.state !== ref.current) update(() => result.state);
      if (result.effect) perform(result.effect);
    }
  });

  // Unmounting (quit, a signal) cancels a job still running.
  useEffect(() => () => job.current?.abort(new CancelledError('The session ended.')), []);

  const time = useTicker(state.job !== null, 500, now);
  const results = useMemo(() => rowsByTensor(state.report), [state.report]);
  const graph = session.ctx.graph;

  let body: React.JSX.Element;
  switch (state.screen) {
    case 'graph': {
      const indices = state.filter.indices;
      const { from, to } = visibleRange(state.graphView, indices.length, layout.graphRows);
      const inputs = {
        plan: state.plan,
        basePlan: session.basePlan,
        taps: state.taps,
        results,
        metric: state.metric,
        values: session.ctx.values,
      };
      const rows = indices.slice(from, to).map((i) => graphRowView(graph.nodes[i], inputs));
      body = (
        <GraphScreen
          width={layout.width}
          height={layout.graphRows}
          rows={rows}
          cursor={state.graphView.cursor - from}
          filterText={state.filter.text}
          draft={state.filter.draft}
          filterError={state.filter.error}
          shown={indices.length}
          total={graph.nodes.length}
          offset={from}
          metricLabel={METRIC_LABELS[state.metric]}
        />
      );
      break;
    }
    case 'results':
      body = state.report ? (
        <ResultsScreen
          width={layout.width}
          height={layout.resultRows}
          report={state.report}
          metric={state.metric}
          view={state.resultsView}
          chartHeight={layout.chartRows}
          zoom={state.chartZoom}
        />
      ) : (
        <Box height={layout.body} />
      );
      break;
    case 'detail': {
      const report = state.report;
      const row = report?.rows[state.resultsView.cursor];
      body =
        report && row ? (
          <DetailView
            width={layout.width}
            height={layout.body}
            report={report}
            cursor={state.resultsView.cursor}
            scroll={state.detailScroll}
          />
        ) : (
          <Box height={layout.body} />
        );
      break;
    }
    case 'bisect':
    case 'fix': {
      const run = state.screen === 'bisect' ? state.bisect : state.fix;
      const running = state.job?.kind === state.screen;
      const lines =
        state.screen === 'bisect'
          ? state.bisect?.result
            ? bisectLines(state.bisect.result, state.bisect.applied)
            : []
          : state.fix?.result
            ? fixLines(state.fix.result, state.fix.applied)
            : [];
      body = (
        <ProbeScreen
          width={layout.width}
          listHeight={layout.probeRows}
          boxHeight={RESULT_BOX}
          title={state.screen === 'bisect' ? 'Bisect: the first failing tensor' : 'Fix: promote until the outputs meet the target'}
          probes={run?.probes ?? []}
          view={run?.view ?? { cursor: 0, offset: 0 }}
          running={running}
          lines={lines}
          error={run?.error ?? null}
        />
      );
      break;
    }
    case 'emit':
      body = (
        <EmitScreen
          width={layout.width}
          height={layout.body}
          running={state.job?.kind === 'emit'}
          result={state.emit?.result ?? null}
          error={state.emit?.error ?? null}
          edits={state.edits.length}
        />
      );
      break;
    case 'help':
      body = <HelpScreen width={layout.width} height={layout.body} />;
      break;
  }

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height} overflow="hidden">
      <Header
        width={layout.width}
        model={session.ctx.modelName}
        profile={session.profile.name}
        nodes={graph.nodes.length}
        inputs={session.inputLabels}
        taps={state.taps.size}
        edits={state.edits.length}
        screen={state.screen}
        job={state.job}
      />
      <Box height={layout.body} flexShrink={0} flexDirection="column" overflow="hidden">
        {body}
      </Box>
      <StatusLine
        width={layout.width}
        job={state.job}
        message={state.message}
        elapsed={state.job ? formatDuration(time - state.job.startedAt) : undefined}
      />
      <Footer
        width={layout.width}
        hints={footerHints(state.screen, { editing: state.filter.draft !== null, running: state.job !== null })}
      />
    </Box>
  );
}
