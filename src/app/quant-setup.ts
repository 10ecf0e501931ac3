import { UserError } from '../core/errors.js';
import { isCalibrationMethod, type CalibrationMethod } from '../quant/calibration-methods.js';
import { readCalibrationTable } from '../store/calibration-file.js';
import type { CalibrationTable } from '../quant/calibration-table.js';
import { readPlanFile } from '../store/plan-file.js';
import { resolvePlan, type Override, type Plan } from '../quant/plan.js';
import { loadProfile } from '../store/profile-file.js';
import type { Profile } from '../quant/profile.js';
import { calibrate } from './calibrate.js';
import { planMemoryUse } from './memory-plan.js';
import type { ModelContext } from './context.js';
import type { ProgressListener } from './events.js';

/** The quantization part shared by every command that runs the quant backend. */
export interface QuantSetupOptions {
  /** `--profile`: a built-in name or a JSON file; default generic-int8 (or the plan file's). */
  readonly profile?: string;
  /** `--plan`: a plan file. */
  readonly planFile?: string;
  /** Extra overrides after the plan file's (`--precision SPEC=PREC`). */
  readonly overrides?: readonly Override[];
  /** `--calib` values. */
  readonly calib?: readonly string[];
  /** `--calibration FILE`: a calibration table written by `calibrate`. */
  readonly calibrationFile?: string;
  readonly method?: string;
  readonly percentile?: number;
  readonly maxMemory?: number;
}

export interface QuantSetup {
  readonly profile: Profile;
  readonly plan: Plan;
  readonly calibration: CalibrationTable;
}

export function parseMethod(text: string | undefined): CalibrationMethod | undefined {
  if (text === undefined) return undefined;
  if (!isCalibrationMethod(text))
    throw new UserError(`--method '${text}' is not a calibration method; use minmax, percentile, entropy or mse.`);
  return text;
}

/** Resolves the profile and plan, and calibrates (or reads the calibration) for the model. */
export async function setUpQuant(
  ctx: ModelContext,
  options: QuantSetupOptions,
  onProgress?: ProgressListener,
  signal?: AbortSignal,
): Promise<QuantSetup> {
  const planFile = options.planFile ? readPlanFile(options.planFile) : undefined;
  const profile = loadProfile(options.profile ?? planFile?.profile ?? 'generic-int8');
  const plan = resolvePlan(ctx.graph, profile, [...(planFile?.overrides ?? []), ...(options.overrides ?? [])]);
  let calibration: CalibrationTable;
  if (options.calibrationFile) {
    calibration = readCalibrationTable(options.calibrationFile);
    if (calibration.modelSha256 !== ctx.modelSha256) {
      throw new UserError(
        `Calibration file '${options.calibrationFile}' was made for another model (sha256 ${calibration.modelSha256.slice(0, 12)}…); calibrate again.`,
      );
    }
  } else {
    planMemoryUse(ctx, 'calibrate', options.maxMemory); // before calibration runs anything
    ({ table: calibration } = await calibrate({
      ctx,
      profile,
      calib: options.calib,
      method: parseMethod(options.method),
      percentile: options.percentile,
      maxMemory: options.maxMemory,
      onProgress,
      signal,
    }));
  }
  return { profile, plan, calibration };
}
