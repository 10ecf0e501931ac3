import { parseGoal, DEFAULT_GOAL } from '../../analysis/gate.js';
import { isMetricName, METRIC_NAMES } from '../../analysis/metrics-target.js';
import { displayName } from '../../core/closest.js';
import { messageOf, UserError } from '../../core/errors.js';
import { resolvePlan } from '../../quant/plan.js';
import { loadProfile } from '../../store/profile-file.js';
import { expandInputPath } from '../../store/input-files.js';
import { pathExists } from '../../store/files.js';
import { criterionOf, outputGoalOf } from '../compare/compare-report.js';
import { criterionText } from '../../present/report-cells.js';
import { reopenSession, type Session, type SessionSettings } from './session.js';

export type { SessionSettings } from './session.js';

/** What the session runs with now. */
export function currentSettings(session: Session): SessionSettings {
  return session.settings;
}

/** The gate and the target for people, e.g. `{ gate: 'snrDb ≥ 30, outputs also psnrDb ≥ 40 (PSNR peak max |x|)', target: 'snrDb ≥ 30, psnrDb ≥ 40' }`. */
export function describeSettings(s: SessionSettings): { gate: string; target: string } {
  let gate: string;
  try {
    const criterion = criterionOf(s.metric ?? undefined, s.threshold ?? undefined);
    gate = criterionText({ ...criterion, outputGoal: outputGoalOf(criterion) });
  } catch (error) {
    gate = `invalid (${messageOf(error)})`;
  }
  const text = s.target ?? DEFAULT_GOAL;
  return { gate: pretty(gate), target: pretty(text.replace(/,/g, ', ')) };
}

function pretty(text: string): string {
  return text
    .replace(/\s*>=\s*/g, ' ≥ ')
    .replace(/\s*<=\s*/g, ' ≤ ')
    .trim();
}

/**
 * One sentence naming the setting at fault, or null when the settings can run. Cheap and
 * synchronous: the metric is known and has a threshold, the threshold is finite, the target
 * parses, the profile loads and the session's plan overrides hold under it, and every calibration
 * and evaluation path exists (a folder holds inputs) and names a model input where the model has
 * several.
 */
export function checkSettings(session: Session, s: SessionSettings): string | null {
  try {
    if (s.metric !== null && !isMetricName(s.metric)) {
      return `Metric '${displayName(String(s.metric), 40)}' is not a metric; use one of ${METRIC_NAMES.join(', ')}.`;
    }
    if (s.threshold !== null && !Number.isFinite(s.threshold)) return `Threshold must be a finite number, not ${s.threshold}.`;
    try {
      criterionOf(s.metric ?? undefined, s.threshold ?? undefined, session.options.peak ?? null);
    } catch (error) {
      return messageOf(error).replace(/--(metric|threshold)/g, (_, f: string) => (f === 'metric' ? 'Metric' : 'threshold'));
    }
    if (s.target !== null) parseGoal(s.target, 'target', session.options.peak ?? null);
    if (s.profile.trim() === '') return 'Profile must name a built-in profile or a profile file.';
    const profile = loadProfile(s.profile);
    try {
      resolvePlan(session.ctx.graph, profile, session.basePlan.overrides);
    } catch (error) {
      return `Profile '${displayName(s.profile)}' cannot take the session's plan: ${messageOf(error)}`;
    }
    checkInputValues(session, s.calib, 'Calibration');
    checkInputValues(session, s.eval, 'Evaluation');
  } catch (error) {
    if (error instanceof UserError) return error.message;
    throw error;
  }
  return null;
}

/** `--calib`/`--eval` values: each path exists, and each names a model input where the model has several. */
function checkInputValues(session: Session, values: readonly string[], what: 'Calibration' | 'Evaluation'): void {
  const names = session.ctx.graph.inputs.map((i) => i.name);
  for (const value of values) {
    if (value.trim() === '') throw new UserError(`${what} input is empty; give a file or a folder.`);
    const named = names.find((n) => value.startsWith(`${n}=`) && !pathExists(value));
    if (named === undefined && names.length > 1) {
      throw new UserError(
        `${what} input '${displayName(value)}' must name one of the model's inputs as NAME=PATH (inputs: ${names.join(', ')}).`,
      );
    }
    expandInputPath(named === undefined ? value : value.slice(named.length + 1), what);
  }
}

/**
 * A new Session running with the settings: the profile and the base plan resolved again, the
 * evaluation inputs re-read when they changed (kept otherwise). Throws the UserError checkSettings
 * would name.
 */
export async function reconfigureSession(session: Session, s: SessionSettings): Promise<Session> {
  const problem = checkSettings(session, s);
  if (problem !== null) throw new UserError(problem);
  return reopenSession(session, s);
}

/** Which results a change of settings makes stale: compare and bisect follow the gate, fix the target; all follow profile and inputs. */
export function staleFields(before: SessionSettings, after: SessionSettings): { compare: boolean; bisect: boolean; fix: boolean } {
  const quant = before.profile !== after.profile || !sameList(before.calib, after.calib) || !sameList(before.eval, after.eval);
  const gate = before.metric !== after.metric || before.threshold !== after.threshold;
  const target = before.target !== after.target;
  return { compare: quant || gate, bisect: quant || gate, fix: quant || target };
}

/** Whether the calibration must be computed again: it depends on the profile and the calibration inputs only. */
export function calibrationChanged(before: SessionSettings, after: SessionSettings): boolean {
  return (
    before.profile !== after.profile ||
    !sameList(before.calib, after.calib) ||
    (before.calib.length === 0 && !sameList(before.eval, after.eval))
  );
}

export function sameSettings(a: SessionSettings, b: SessionSettings): boolean {
  return (
    a.metric === b.metric &&
    a.threshold === b.threshold &&
    a.target === b.target &&
    a.profile === b.profile &&
    sameList(a.calib, b.calib) &&
    sameList(a.eval, b.eval)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
