import { join } from 'node:path';
import { DEFAULT_GOAL, parseGoal, type Goal } from '../analysis/gate.js';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { LocateOptions } from './bisect/bisect.js';
import type { ModelContext } from './context.js';
import type { FixStepEvent } from './fix-report.js';
import type { ProgressListener } from './events.js';
import type { QuantSetup } from './quant-setup.js';
import { planBeside } from '../store/emit-files.js';

/** The options of `fix` (app/fix.ts), their defaults, and the checks that need no model run. */

/** The outputs' target of `fix` when none is given: the default gate's output goal (analysis/gate.ts). */
export const DEFAULT_TARGET = DEFAULT_GOAL;
export const DEFAULT_MAX_PROMOTIONS = 8;

export interface FixOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** `--target`, e.g. `psnrDb>=45` or `snrDb>=30,psnrDb>=40` (all must hold); default DEFAULT_TARGET. */
  readonly target?: string;
  /** `--peak` of the target's PSNR; default max |x| of each float output. */
  readonly peak?: number;
  readonly strategy?: 'bisect' | 'sensitivity';
  /**
   * Regions promoted at most (before pruning). Default 8; under the default, a search that runs
   * out short of a reachable target descends from the ceiling instead (analysis/fix-search.ts).
   */
  readonly maxPromotions?: number;
  /** Plan file to write; default defaultPlanFile's. */
  readonly planOut?: string;
  /**
   * The evaluation inputs (app/evaluation.ts), measured one at a time; default the context's
   * own. The target holds when it holds on every input; bisect runs on the worst one.
   */
  readonly evaluation?: readonly ModelContext[];
  /** Also emit and verify the fixed model to this `.onnx` file. */
  readonly emit?: string;
  /** Or emit it into this directory under emit's default name (`<name>.<tag>.onnx`). */
  readonly emitDir?: string;
  /** `--max-memory`: the memory rule of the probes (app/memory-plan.ts) and the probers' float caches. */
  readonly maxMemory?: number;
  readonly onProgress?: ProgressListener;
  /** Each evaluation and each promotion round as data, as they happen (the TUI's probe rows). */
  readonly onStep?: (step: FixStepEvent) => void;
  /** Each bisect probe of a round, as locateCulprit reports it. */
  readonly onProbe?: LocateOptions['onProbe'];
  readonly signal?: AbortSignal;
}

/** Checks the options that need no model run, so a caller can refuse them before calibrating. */
export function checkFixOptions(options: Pick<FixOptions, 'target' | 'maxPromotions' | 'emit' | 'strategy' | 'peak'>): {
  goal: Goal;
  maxPromotions: number;
} {
  const goal = parseGoal(options.target ?? DEFAULT_TARGET, '--target', options.peak ?? null);
  const maxPromotions = options.maxPromotions ?? DEFAULT_MAX_PROMOTIONS;
  if (!Number.isInteger(maxPromotions) || maxPromotions < 0)
    throw new UserError(`--max-promotions must be a whole number >= 0, not ${maxPromotions}.`);
  if (options.emit !== undefined && !/\.onnx$/i.test(options.emit))
    throw new UserError(`--emit '${displayName(options.emit)}' must name an .onnx file.`);
  if (options.strategy !== undefined && options.strategy !== 'bisect' && options.strategy !== 'sensitivity') {
    throw new UserError(`--strategy '${displayName(String(options.strategy))}' is not a strategy; use bisect or sensitivity.`);
  }
  return { goal, maxPromotions };
}

/**
 * Where fix writes its plan unless told (`--out`): beside the model `--emit` writes, as
 * `<stem>.plan.json`, so the plan travels with the model; else `dumps/<model>.fix-plan.json`.
 */
export function defaultPlanFile(modelName: string, emit?: string): string {
  return emit !== undefined ? planBeside(emit) : join('dumps', `${modelName}.fix-plan.json`);
}
