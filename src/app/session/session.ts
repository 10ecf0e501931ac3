import { basename } from 'node:path';
import type { MetricName } from '../../analysis/metrics-target.js';
import { resolveMetricName } from '../../analysis/metrics-target.js';
import type { GraphNode } from '../../core/graph.js';
import { readPlanFile } from '../../store/plan-file.js';
import { allowedPrecisions, resolvePlan, type Override, type Plan } from '../../quant/plan.js';
import { loadProfile } from '../../store/profile-file.js';
import type { Precision, Profile } from '../../quant/profile.js';
import { openModel, type ModelContext, type ModelInputOptions } from '../context.js';
import { evaluationContexts } from '../evaluation.js';
import type { QuantSetupOptions } from '../quant-setup.js';

/**
 * The state behind an interactive session: the opened model, the profile, and the plan the user
 * edits. Opening it does no calibration and runs no model, so the first screen appears as soon as
 * the graph is read; the heavy work happens in jobs (session-jobs.ts).
 */
export interface SessionOptions {
  readonly model: ModelInputOptions;
  readonly quant: QuantSetupOptions;
  /** `--metric` and `--threshold` of compare and bisect (default the gate of analysis/gate.ts). */
  readonly metric?: string;
  readonly threshold?: number;
  /** `--target` of fix (default the gate's output goal, snrDb>=30,psnrDb>=40). */
  readonly target?: string;
  /** `--peak` of the outputs' PSNR (default max |x| of each float output). */
  readonly peak?: number;
  /** `--eval`: evaluation inputs apart from the calibration ones; compare, bisect, fix and emit measure on all of them. */
  readonly eval?: readonly string[];
  /** Where emit writes (default as `quantscope emit`). */
  readonly emitDir?: string;
}

/**
 * What a session runs with, changeable in place from the TUI's settings screen (DESIGN.md §7):
 * the gate of compare and bisect, the target of fix, the profile, and the calibration and
 * evaluation inputs. A job request carries them (session-jobs.ts), so the worker runs with what
 * the screen shows; session-exec.ts keeps the calibration across jobs until it depends on a
 * changed setting, and re-reads the evaluation inputs only when eval changes. The functions over
 * them are in session-settings.ts.
 */
export interface SessionSettings {
  /** Gate metric for compare/bisect; null = the default gate (analysis/gate.ts). */
  readonly metric: MetricName | null;
  /** null = the metric's default threshold. */
  readonly threshold: number | null;
  /** fix's `--target` text; null = the default output goal. */
  readonly target: string | null;
  /** Profile name or file, as `--profile`. */
  readonly profile: string;
  /** Calibration inputs, as `--calib` takes them (empty: the evaluation inputs, else the session's input). */
  readonly calib: readonly string[];
  /** Evaluation inputs, as `--eval` takes them (empty = the session's input). */
  readonly eval: readonly string[];
}

export interface Session {
  /** The options the session runs with: those it was opened with, with the settings applied. */
  readonly options: SessionOptions;
  /** What the session runs with now (session-settings.ts). */
  readonly settings: SessionSettings;
  readonly ctx: ModelContext;
  readonly profile: Profile;
  /** The plan from the plan file and `--precision` flags, before any edit in the session. */
  readonly basePlan: Plan;
  /** What the header shows: `name=source` per input, sources shortened to their file names. */
  readonly inputLabels: readonly string[];
  /** The evaluation inputs (app/evaluation.ts): `--eval`, else the one input of `ctx`. */
  readonly evaluation: readonly ModelContext[];
}

export async function openSession(options: SessionOptions): Promise<Session> {
  // The graph needs no shapes: a model whose inputs nothing fixes still opens, and its jobs say why they cannot run.
  const ctx = await openModel({ ...options.model, deferInputs: true });
  const planFile = options.quant.planFile ? readPlanFile(options.quant.planFile) : undefined;
  const profile = loadProfile(options.quant.profile ?? planFile?.profile ?? 'generic-int8');
  const basePlan = resolvePlan(ctx.graph, profile, [...(planFile?.overrides ?? []), ...(options.quant.overrides ?? [])]);
  const evaluation = await evaluationContexts(ctx, options.eval);
  const settings: SessionSettings = {
    metric: options.metric === undefined ? null : (resolveMetricName(options.metric) ?? null),
    threshold: options.threshold ?? null,
    target: options.target ?? null,
    profile: options.quant.profile ?? planFile?.profile ?? 'generic-int8',
    calib: [...(options.quant.calib ?? [])],
    eval: [...(options.eval ?? [])],
  };
  return { options, settings, ctx, profile, basePlan, inputLabels: labelsOf(ctx, evaluation), evaluation };
}

/**
 * The session with other settings (checked by the caller, session-settings.ts): the same model and
 * graph; the profile loaded and the base plan resolved again under it; the evaluation inputs read
 * again when they changed. A calibration table file (`--calibration`) is dropped once the profile
 * or the calibration inputs change: the table was made for the old ones.
 */
export async function reopenSession(session: Session, s: SessionSettings): Promise<Session> {
  const { ctx, options } = session;
  const before = session.settings;
  const profile = s.profile === before.profile ? session.profile : loadProfile(s.profile);
  const planFile = options.quant.planFile ? readPlanFile(options.quant.planFile) : undefined;
  const basePlan =
    profile === session.profile
      ? session.basePlan
      : resolvePlan(ctx.graph, profile, [...(planFile?.overrides ?? []), ...(options.quant.overrides ?? [])]);
  const sameEval = s.eval.length === before.eval.length && s.eval.every((v, i) => v === before.eval[i]);
  const evaluation = sameEval ? session.evaluation : await evaluationContexts(ctx, s.eval);
  const sameCalib = s.calib.length === before.calib.length && s.calib.every((v, i) => v === before.calib[i]);
  const keepTable = sameCalib && profile === session.profile;
  const next: SessionOptions = {
    ...options,
    metric: s.metric ?? undefined,
    threshold: s.threshold ?? undefined,
    target: s.target ?? undefined,
    eval: [...s.eval],
    quant: {
      ...options.quant,
      profile: s.profile,
      // Without calibration inputs, as on the command line: the evaluation inputs (in-sample), else the session's input.
      calib: s.calib.length > 0 ? [...s.calib] : s.eval.length > 0 ? [...s.eval] : undefined,
      calibrationFile: keepTable ? options.quant.calibrationFile : undefined,
    },
  };
  const settings: SessionSettings = { ...s, calib: [...s.calib], eval: [...s.eval] };
  return { options: next, settings, ctx, profile, basePlan, inputLabels: labelsOf(ctx, evaluation), evaluation };
}

/** What the header shows for the inputs: the evaluation set, or `name=source` per input. */
function labelsOf(ctx: ModelContext, evaluation: readonly ModelContext[]): string[] {
  // One evaluation input is the one every job runs on (the session's own input, or the --eval file).
  const shown = evaluation.length === 1 ? evaluation[0] : ctx;
  return evaluation.length > 1
    ? [`eval ${evaluation.length} inputs (${evaluation.map((c) => c.sources.map((s) => basename(s.source)).join('+')).join(', ')})`]
    : shown.inputsError
      ? ['no inputs yet (give --input, --calib or --shape)']
      : shown.sources.map((s) => `${s.name}=${s.source.includes('/') ? basename(s.source) : s.source}`);
}

/** The overrides a job applies: the session's base ones (plan file, flags), then the edits. */
export function sessionOverrides(session: Session, edits: readonly Override[]): Override[] {
  return [...session.basePlan.overrides, ...edits];
}

/** The plan with the session's edits applied (later edits win). */
export function planWithEdits(session: Session, edits: readonly Override[]): Plan {
  return edits.length === 0 ? session.basePlan : resolvePlan(session.ctx.graph, session.profile, sessionOverrides(session, edits));
}

/** The precision after `current` in the node's allowed list, wrapping around. */
export function nextPrecision(profile: Profile, node: GraphNode, current: Precision | undefined): Precision {
  const allowed = allowedPrecisions(profile, node);
  const at = current === undefined ? -1 : allowed.indexOf(current);
  return allowed[(at + 1) % allowed.length];
}

/**
 * Sets one node's precision in the session's edits: earlier edits of the node are dropped, and
 * setting it back to its precision before any edit (`base`) leaves no edit at all, so the list
 * holds exactly the nodes that differ. The spec names the node exactly (see exactSpec).
 */
export function editPrecision(edits: readonly Override[], node: GraphNode, precision: Precision, base: Precision | undefined): Override[] {
  const spec = exactSpec(node.name);
  const others = edits.filter(([s]) => s !== spec);
  return precision === base ? others : [...others, [spec, precision] as const];
}

/**
 * A selection-language term that selects exactly this node or tensor name. Plain names are used
 * as they are; a name that the language would read as a pattern or a list (commas, `*`, `?`, a
 * leading `@`, `op:`, `re:`) becomes an anchored `re:` term, which also keeps commas whole.
 */
export function exactSpec(name: string): string {
  const special = /[,*?]/.test(name) || name.startsWith('@') || name.startsWith('op:') || name.startsWith('re:') || name.trim() !== name;
  if (!special) return name;
  return `re:^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`;
}
