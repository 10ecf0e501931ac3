import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComparisonReport } from '../analysis/comparison.js';
import { DEMO_DESCRIPTION, DEMO_HAZARD_NODE, DEMO_MODEL_FILE, demoModel } from '../models/demo-generator.js';
import { writeModel } from '../onnx/index.js';
import { bisect, type BisectReport } from './bisect/bisect.js';
import { compareModel } from './compare/compare.js';
import { openModel } from './context.js';
import { DEFAULT_EMIT_DIR } from './emit/emit.js';
import { silent, throwIfCancelled, type ProgressListener } from './events.js';
import { DEFAULT_TARGET, fix, type FixReport } from './fix.js';
import { setUpQuant } from './quant-setup.js';
import { makeDirectory } from '../store/directories.js';
import { pathExists } from '../store/files.js';

export interface DemoOptions {
  /** The demo model; default the project's models/demo-generator.onnx (written from its builder when absent). */
  readonly modelPath?: string;
  /**
   * The directory of everything the demo writes: the plan, the fixed model with its two JSON
   * files, and the demo model when the package lacks it. Default: the plan in `dumps/`, the
   * models in `models/`, under the working directory.
   */
  readonly outDir?: string;
  /** Where the fixed model is emitted; default `outDir`, else `models`. */
  readonly emitDir?: string;
  /** Where the plan file goes; default `<outDir>/demo-generator.fix-plan.json`, else under `dumps/`. */
  readonly planOut?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface DemoResult {
  readonly model: string;
  readonly description: string;
  readonly profile: string;
  /** The outputs' target: the default gate's, which the table and bisect also use (analysis/gate.ts). */
  readonly target: string;
  /** The documented hazard node, and whether bisect and fix found it on their own. */
  readonly hazard: { readonly node: string; readonly namedByBisect: boolean; readonly promotedByFix: boolean };
  /** Every tensor of the INT8 plan compared, with own vs accumulated error and the INT16 reference value. */
  readonly comparison: ComparisonReport;
  readonly bisect: BisectReport;
  readonly fix: FixReport;
  /** Every file the demo wrote, in the order written. */
  readonly files: readonly string[];
  readonly seconds: number;
}

/** The demo model shipped with the project: `<package>/models/demo-generator.onnx`. */
export function packagedDemoModel(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', DEMO_MODEL_FILE);
}

/**
 * The whole story on the built-in demo model (DESIGN.md §7), non-interactively: the INT8 plan
 * misses the target, the per-layer comparison shows where, bisect names the culprit, fix
 * promotes it and emits the verified mixed-precision model. Every figure in the result is
 * measured on the model's deterministic synthetic inputs (calibrated on the same inputs).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const onProgress = options.onProgress ?? silent;
  const files: string[] = [];
  const modelPath = options.modelPath ?? ensureDemoModel(options.outDir, files);
  const profile = 'generic-int8';

  onProgress({ type: 'stage', stage: 'demo', detail: `opening ${modelPath} and calibrating ${profile}` });
  const ctx = await openModel({ modelPath });
  const quant = await setUpQuant(ctx, { profile }, onProgress, options.signal);

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'demo', detail: 'comparing every layer of the INT8 plan with the float model' });
  const { report: comparison } = await compareModel({
    ctx,
    quant,
    onProgress,
    signal: options.signal,
  });

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'demo', detail: 'bisecting the output' });
  const bisected = await bisect({ ctx, quant, onProgress, signal: options.signal });

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'demo', detail: 'fixing and emitting' });
  const fixed = await fix({
    ctx,
    quant,
    target: DEFAULT_TARGET,
    planOut: options.planOut ?? join(options.outDir ?? 'dumps', `${ctx.modelName}.fix-plan.json`),
    emitDir: options.emitDir ?? options.outDir ?? DEFAULT_EMIT_DIR,
    onProgress,
    signal: options.signal,
  });
  files.push(fixed.plan);
  if (fixed.emitted) files.push(fixed.emitted.model, fixed.emitted.quant, fixed.emitted.manifest);
  return {
    model: modelPath,
    description: DEMO_DESCRIPTION,
    profile: quant.profile.name,
    target: fixed.target,
    hazard: {
      node: DEMO_HAZARD_NODE,
      namedByBisect: bisected.culprit?.node === DEMO_HAZARD_NODE,
      promotedByFix: fixed.promoted.includes(DEMO_HAZARD_NODE),
    },
    comparison,
    bisect: bisected,
    fix: fixed,
    files,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The packaged demo model, or (when the package lacks it) one written from its builder into
 * `outDir`, else under models/; a model written is added to `files`.
 */
function ensureDemoModel(outDir: string | undefined, files: string[]): string {
  const packaged = packagedDemoModel();
  if (pathExists(packaged)) return packaged;
  const local = outDir === undefined ? DEMO_MODEL_FILE : join(outDir, basename(DEMO_MODEL_FILE));
  if (!pathExists(local)) {
    makeDirectory(dirname(local) || '.', "The demo model's directory");
    writeModel(demoModel(), local);
    files.push(local);
  }
  return local;
}
