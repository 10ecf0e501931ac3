import { Box } from 'ink';
import { useMemo } from 'react';
import type { Session } from '../../app/session/session.js';
import { staleFields } from '../../app/session/session-settings.js';
import { METRIC_LABELS } from '../format.js';
import { graphRowView, rowsByTensor } from '../graph-rows.js';
import type { Layout } from '../layout.js';
import { RESULT_BOX } from '../layout.js';
import { sameEdits } from '../plan-edits.js';
import { wrappedPlanLines } from '../plan-lines.js';
import { bisectLines, fixLines, type ToneLine } from '../probe-lines.js';
import { rowAt, SORT_COLUMNS } from '../result-order.js';
import type { UiState } from '../state.js';
import { visibleRange } from '../viewport.js';
import { wrapText } from '../wrap.js';
import { DetailView } from './DetailView.js';
import { EmitScreen } from './EmitScreen.js';
import { FindingsScreen } from './FindingsScreen.js';
import { GraphScreen } from './GraphScreen.js';
import { HelpScreen } from './HelpScreen.js';
import { PlanScreen } from './PlanScreen.js';
import { ProbeScreen } from './ProbeScreen.js';
import { ResultsScreen } from './ResultsScreen.js';
import { RunsScreen } from './RunsScreen.js';
import { SettingsScreen } from './SettingsScreen.js';

export interface ScreenBodyProps {
  readonly state: UiState;
  readonly session: Session;
  readonly layout: Layout;
}

/** The screen between the header and the status line: the state's screen, sized by the layout. */
export function ScreenBody(props: ScreenBodyProps): React.JSX.Element {
  const { state, session, layout } = props;
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
          stale={state.stale.compare !== undefined && state.report !== null}
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
          order={state.order}
          sortLabel={
            state.sort.column === 'depth' && !state.sort.descending
              ? undefined
              : `${SORT_COLUMNS.find((c) => c.column === state.sort.column)?.label ?? state.sort.column}${state.sort.descending ? ' (inverted)' : ''}`
          }
          stale={state.stale.compare}
          chartHeight={layout.chartRows}
          zoom={state.chartZoom}
        />
      ) : (
        <Box height={layout.body} />
      );
      break;
    case 'detail': {
      const report = state.report;
      const row = report?.rows[rowAt(state.order, state.resultsView.cursor)];
      body =
        report && row ? (
          <DetailView
            width={layout.width}
            height={layout.body}
            report={report}
            cursor={rowAt(state.order, state.resultsView.cursor)}
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
      const outdated = !run
        ? null
        : state.stale[state.screen]
          ? `with settings since changed`
          : sameEdits(run.edits, state.edits)
            ? null
            : 'on an earlier plan';
      const raw =
        state.screen === 'bisect'
          ? state.bisect?.result
            ? bisectLines(state.bisect.result, state.bisect.applied, outdated)
            : []
          : state.fix?.result
            ? fixLines(state.fix.result, state.fix.applied, outdated)
            : [];
      // Every line whole: wrapped, the box grows and the probe list gives it rows (it keeps at least 3).
      const lines: ToneLine[] = raw.flatMap((l) => wrapText(l.text, layout.width - 1, '  ').map((text) => ({ text, tone: l.tone })));
      const room = Math.max(RESULT_BOX, Math.min(lines.length, layout.body - 2 - 3));
      // Too long for the screen (a plan of many nodes): the last line says where the rest is.
      if (lines.length > room)
        lines.splice(room - 1, lines.length, { text: '… the rest once applied (Enter): P shows the whole plan', tone: 'dim' });
      const box = room;
      body = (
        <ProbeScreen
          width={layout.width}
          listHeight={layout.body - 2 - box}
          boxHeight={box}
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
      body = <HelpScreen width={layout.width} height={layout.body} view={state.views.help} />;
      break;
    case 'findings':
      body = (
        <FindingsScreen width={layout.width} height={layout.body} findings={state.report?.findings ?? []} view={state.views.findings} />
      );
      break;
    case 'plan':
      body = (
        <PlanScreen
          width={layout.width}
          height={layout.body}
          lines={wrappedPlanLines(state, session, layout.width)}
          offset={state.planScroll}
        />
      );
      break;
    case 'runs':
      body = <RunsScreen width={layout.width} height={layout.body} state={state} metric={state.metric} />;
      break;
    case 'settings': {
      const draft = state.settingsDraft;
      const stale = draft ? staleFields(session.settings, draft) : { compare: false, bisect: false, fix: false };
      const touched = (['compare', 'bisect', 'fix'] as const).filter((k) => stale[k] && (k === 'compare' ? state.report : state[k]));
      body = (
        <SettingsScreen
          width={layout.width}
          height={layout.body}
          applied={session.settings}
          draft={draft}
          error={state.settingsError}
          cursor={state.settingsView.cursor}
          stale={touched}
        />
      );
      break;
    }
  }
  return body;
}
