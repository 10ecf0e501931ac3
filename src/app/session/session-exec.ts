import { resolve } from 'node:path';
import { displayName } from '../../core/closest.js';
import { throwIfCancelled } from '../events.js';
import type { CalibrationTable } from '../../quant/calibration-table.js';
import { compareOverEvaluation } from '../compare/compare-eval.js';
import { emitModel, type EmitResult } from '../emit/emit.js';
import { setUpQuant, type QuantSetup } from '../quant-setup.js';
import { bisectForSession } from './session-bisect.js';
import { fixForSession } from './session-fix.js';
import { evaluationProgress } from './session-progress.js';
import type { EmitView, JobEvent, JobOutcome, JobRequest } from './session-jobs.js';
import { exactSpec, planWithEdits, type Session } from './session.js';
import { calibrationChanged, currentSettings, reconfigureSession, sameSettings, type SessionSettings } from './session-settings.js';

/**
 * What jobs share across a session: the session (with the settings the last job ran with), and
 * the calibration once it is known.
 */
export interface JobEnv {
  session: Session;
  calibration?: CalibrationTable;
}

/**
 * Brings the environment to a job's settings: a new session when they differ (session-settings.ts
 * reconfigureSession: the profile and base plan, the evaluation inputs re-read when eval changed),
 * and the calibration dropped only when it depends on a changed setting (the profile or the
 * calibration inputs, or the evaluation inputs it falls back to). A change of the gate or the
 * target keeps it: the next job does not calibrate again.
 */
export async function applySettings(env: JobEnv, settings: SessionSettings | undefined): Promise<void> {
  if (!settings) return;
  const before = currentSettings(env.session);
  if (sameSettings(before, settings)) return;
  env.session = await reconfigureSession(env.session, settings);
  if (calibrationChanged(before, settings)) env.calibration = undefined;
}

/**
 * The quant setup for a job: the session's plan with the job's edits, and the calibration, which
 * is computed (or read from the cache) by the first job and kept for the next ones: it depends
 * on the model, the calibration inputs and the profile, never on the plan.
 */
export async function quantSetupFor(
  env: JobEnv,
  request: JobRequest,
  onEvent: (e: JobEvent) => void,
  signal: AbortSignal,
): Promise<QuantSetup> {
  const { session } = env;
  const plan = planWithEdits(session, request.edits);
  if (!env.calibration) {
    const setup = await setUpQuant(session.ctx, session.options.quant, onEvent, signal);
    env.calibration = setup.calibration;
  }
  throwIfCancelled(signal);
  return { profile: session.profile, plan, calibration: env.calibration };
}

/** Runs one job of the session: calls the app use-case and turns its result into what the screens show. */
export async function executeJob(
  env: JobEnv,
  request: JobRequest,
  onEvent: (e: JobEvent) => void,
  signal: AbortSignal,
): Promise<JobOutcome> {
  await applySettings(env, request.settings);
  throwIfCancelled(signal);
  const { session } = env;
  const ctx = session.ctx;
  if (ctx.inputsError) throw ctx.inputsError;
  const setup = await quantSetupFor(env, request, onEvent, signal);
  switch (request.kind) {
    case 'compare': {
      const taps = request.taps && request.taps.length > 0 ? request.taps.map(exactSpec) : undefined;
      const result = await compareOverEvaluation({
        ctx,
        evaluation: session.evaluation,
        quant: setup,
        taps,
        metric: session.options.metric,
        threshold: session.options.threshold,
        peak: session.options.peak,
        maxMemory: session.options.quant.maxMemory,
        onProgress: evaluationProgress(session.evaluation.length, onEvent),
        signal,
      });
      for (const note of result.notes) onEvent({ type: 'log', level: 'warn', message: note });
      return { kind: 'compare', report: result.report, taps: request.taps ?? [] };
    }
    case 'emit': {
      const result = await emitModel({
        ctx,
        setup,
        evaluation: session.evaluation,
        outDir: session.options.emitDir,
        onProgress: onEvent,
        signal,
      });
      return { kind: 'emit', result: emitView(result) };
    }
    case 'bisect': {
      const result = await bisectForSession({
        ctx,
        quant: setup,
        evaluation: session.evaluation,
        metric: session.options.metric,
        threshold: session.options.threshold,
        peak: session.options.peak,
        maxMemory: session.options.quant.maxMemory,
        onProgress: onEvent,
        onProbe: (probe) => onEvent({ type: 'probe', probe }),
        signal,
      });
      return { kind: 'bisect', result };
    }
    case 'fix': {
      const result = await fixForSession({
        ctx,
        quant: setup,
        evaluation: session.evaluation,
        target: session.options.target,
        peak: session.options.peak,
        maxMemory: session.options.quant.maxMemory,
        onEvent,
        signal,
      });
      return { kind: 'fix', result };
    }
  }
}

function emitView(result: EmitResult): EmitView {
  const v = result.verification;
  const checks = [
    `${v.precision.nodes.length} node(s) read back at their planned precision`,
    `${v.outputs.length} output(s) identical to the quant backend's in a fresh onnxruntime session`,
    ...result.metrics.map(
      (o) =>
        `${displayName(o.name, 40)} vs float: cosine ${o.metrics.cosine.toFixed(6)}, PSNR ${Number.isFinite(o.metrics.psnrDb) ? `${o.metrics.psnrDb.toFixed(1)} dB` : 'exact'}`,
    ),
  ];
  return {
    files: [
      { role: 'model', path: resolve(result.paths.model) },
      { role: 'quant', path: resolve(result.paths.quant) },
      { role: 'manifest', path: resolve(result.paths.manifest) },
    ],
    verified: true,
    checks,
    summary: `wrote ${result.tag} model ${displayName(result.paths.model)} and verified it`,
  };
}
