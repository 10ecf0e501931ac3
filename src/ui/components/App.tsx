import { Box, useApp, useInput } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { CancelledError, InternalError, messageOf } from '../../core/errors.js';
import type { JobRunner } from '../../app/session/job-runner.js';
import type { JobRequest } from '../../app/session/session-jobs.js';
import { defaultPlanPath, openPlan, savePlan } from '../../app/session/session-plan.js';
import { checkSettings, describeSettings, reconfigureSession, staleFields } from '../../app/session/session-settings.js';
import type { Session } from '../../app/session/session.js';
import { resolveMetricName } from '../../analysis/metrics-target.js';
import { displayName } from '../../core/closest.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import { useTicker } from '../hooks/use-ticker.js';
import { handleKey, splitInput, type Effect } from '../keys.js';
import { reduceJob, type JobAction } from '../job-reducer.js';
import { SETTING_FIELDS } from '../settings-fields.js';
import { footerHints } from '../keymap.js';
import { layoutFor } from '../layout.js';
import { initialState, withEdits, type UiState } from '../state.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { ScreenBody } from './ScreenBody.js';
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
  /** Runs a comparison of every node as soon as the UI is up (the demo's story). */
  readonly autoRun?: boolean;
}

/** The gate as the header shows it: `snrDb≥30, out psnrDb≥40` (the settings screen has it in full). */
function compactGate(text: string): string {
  return text
    .replace(/ \(PSNR peak [^)]*\)$/, '')
    .replace(/ ([≥≤]) /g, '$1')
    .replace('outputs also ', 'out ');
}

/** The whole TUI: state from keys and job events, one screen at a time between header and footer. */
export function App(props: AppProps): React.JSX.Element {
  const { runner } = props;
  const now = props.now ?? Date.now;
  const [session, setSession] = useState<Session>(props.session);
  const sessionRef = useRef(session);
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
      dispatch({ type: 'job-start', kind: request.kind, at: now(), edits: request.edits });
      runner
        .run(
          { ...request, settings: sessionRef.current.settings },
          (event) => dispatch({ type: 'job-event', event, at: now() }),
          controller.signal,
        )
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
        case 'save-plan':
          try {
            const path = savePlan(sessionRef.current, ref.current.edits, effect.path);
            update((st) => ({
              ...st,
              savedTo: path,
              planFile: path,
              confirmQuit: false,
              message: { level: 'info', text: `plan saved to ${path}` },
            }));
          } catch (error) {
            update((st) => ({ ...st, message: { level: 'error', text: messageOf(error) } }));
          }
          return;
        case 'open-plan':
          try {
            const edits = openPlan(sessionRef.current, effect.path);
            update((st) => {
              const next = { ...withEdits(st, sessionRef.current, edits, effect.path), planFile: effect.path };
              if (next.message?.level === 'error') return next;
              const text = `opened ${displayName(effect.path, 60)}: ${edits.length} edit(s), not yet measured (r compares)`;
              return { ...next, message: { level: 'info', text } };
            });
          } catch (error) {
            update((st) => ({ ...st, message: { level: 'error', text: messageOf(error) } }));
          }
          return;
        case 'check-settings':
          update((st) => {
            const problem = st.settingsDraft ? checkSettings(sessionRef.current, st.settingsDraft) : null;
            const message = problem
              ? { level: 'error' as const, text: problem }
              : { level: 'info' as const, text: 'the changed settings can run: a applies them, x drops them' };
            return { ...st, settingsError: problem, message };
          });
          return;
        case 'apply-settings':
          applySettings();
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
    [dispatch, quit, start, update],
  );

  const applySettings = useCallback((): void => {
    const draft = ref.current.settingsDraft;
    if (!draft) return;
    const before = sessionRef.current;
    const problem = checkSettings(before, draft);
    if (problem) {
      update((st) => ({ ...st, settingsError: problem, message: { level: 'error', text: problem } }));
      return;
    }
    update((st) => ({ ...st, message: { level: 'info', text: 'applying the settings…' } }));
    reconfigureSession(before, draft).then(
      (next) => {
        sessionRef.current = next;
        setSession(next);
        const stale = staleFields(before.settings, next.settings);
        update((st) => {
          const reasons = { ...st.stale };
          const why = 'settings changed';
          if (stale.compare && st.report) reasons.compare = why;
          if (stale.bisect && st.bisect) reasons.bisect = why;
          if (stale.fix && st.fix) reasons.fix = why;
          const replanned = withEdits({ ...st, settingsDraft: null, settingsError: null, stale: reasons }, next, st.edits);
          const metric =
            (next.settings.metric && resolveMetricName(next.settings.metric)) ||
            (before.settings.metric === next.settings.metric ? st.metric : 'snrDb');
          const changed = (['compare', 'bisect', 'fix'] as const).filter((k) => reasons[k] !== undefined && !st.stale[k]);
          const fields = SETTING_FIELDS.filter((f) => f.show(before.settings) !== f.show(next.settings)).map(
            (f) => `${f.label} → ${f.show(next.settings)}`,
          );
          const text = `settings applied: ${fields.join('; ')}${changed.length > 0 ? `; ${changed.join(', ')} results are stale until run again` : ''}`;
          return { ...replanned, metric, planEvaluated: stale.compare ? false : replanned.planEvaluated, message: { level: 'info', text } };
        });
      },
      (error: unknown) => update((st) => ({ ...st, settingsError: messageOf(error), message: { level: 'error', text: messageOf(error) } })),
    );
  }, [update]);

  useInput((input, key) => {
    for (const [one, k] of splitInput(input, key)) {
      const result = handleKey(ref.current, one, k, { session: sessionRef.current, layout, defaultPlanPath: planPath });
      const said = result.state.message;
      const stamped =
        said && said !== ref.current.message && said.at === undefined ? { ...result.state, message: { ...said, at: now() } } : result.state;
      if (stamped !== ref.current) update(() => stamped);
      if (result.effect) perform(result.effect);
    }
  });

  // The demo's story: every node tapped and compared as soon as the UI is up.
  const autoRan = useRef(false);
  useEffect(() => {
    if (!props.autoRun || autoRan.current) return;
    autoRan.current = true;
    const taps = sessionRef.current.ctx.graph.nodes.flatMap((n) => n.outputs.filter((o) => o !== ''));
    update((st) => ({ ...st, taps: new Set(taps) }));
    start({ kind: 'compare', edits: [], taps });
  }, [props.autoRun, start, update]);

  // Unmounting (quit, a signal) cancels a job still running.
  useEffect(() => () => job.current?.abort(new CancelledError('The session ended.')), []);

  const time = useTicker(state.job !== null, 250, now);
  const planPath = useMemo(() => defaultPlanPath(session), [session]);
  const graph = session.ctx.graph;

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
        evaluated={state.planEvaluated}
        saved={state.savedTo !== null}
        gate={compactGate(describeSettings(session.settings).gate)}
        screen={state.screen}
        job={state.job}
      />
      <Box height={layout.body} flexShrink={0} flexDirection="column" overflow="hidden">
        <ScreenBody state={state} session={session} layout={layout} />
      </Box>
      <StatusLine width={layout.width} job={state.job} message={state.message} prompt={state.prompt} now={time} />
      <Footer
        width={layout.width}
        hints={footerHints(state.screen, {
          editing: state.filter.draft !== null,
          running: state.job !== null,
          prompt: state.prompt !== null,
        })}
      />
    </Box>
  );
}
