import { join } from 'node:path';
import { selectTensors } from '../core/selector.js';
import { CancelledError, InternalError } from '../core/errors.js';
import type { Backend } from '../backends/backend.js';
import { defaultRunId } from '../store/manifest.js';
import { RunDir } from '../store/run-dir.js';
import { planToFile } from '../quant/plan.js';
import { floatBackendFor, type ModelContext } from './context.js';
import { silent, type ProgressListener } from './events.js';
import { planMemoryUse } from './memory-plan.js';
import { quantBackendFor } from './quantize.js';
import type { QuantSetup } from './quant-setup.js';

export type BackendChoice = 'float' | 'quant' | 'both';

export interface RunOptions {
  readonly ctx: ModelContext;
  readonly backend: BackendChoice;
  /** Tap specs (selection language); default `@outputs`. */
  readonly taps?: readonly string[];
  /** Run directory; default `dumps/<model>-<timestamp>`. */
  readonly outDir?: string;
  readonly quant?: QuantSetup;
  readonly maxMemory?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface RunResult {
  readonly outDir: string;
  readonly status: 'complete' | 'incomplete';
  readonly taps: readonly string[];
  readonly tensors: readonly { backend: 'float' | 'quant'; name: string; file: string; shape: readonly number[]; dtype: string }[];
}

/**
 * The taps of a run and their groups under the memory rule (planMemory): refuses, before anything
 * is run or written, a tap or set of inputs that cannot fit the budget. The run command calls it
 * before calibrating, so a run that cannot fit fails at once.
 */
export function planRun(
  ctx: ModelContext,
  tapSpecs: readonly string[] | undefined,
  maxMemory: number | undefined,
): { taps: string[]; groups: string[][] } {
  const taps = selectTensors(ctx.graph, tapSpecs && tapSpecs.length > 0 ? tapSpecs : ['@outputs']);
  return { taps, groups: planMemoryUse(ctx, 'run', maxMemory, taps).groups };
}

/**
 * Runs the chosen backends on the inputs and writes every tapped tensor to a run directory.
 * Taps run in groups that fit the memory budget beside the inputs and outputs (planRun); the
 * quant model keeps every tap as a boundary (so its numerics do not depend on the grouping) and
 * each run outputs one group. An interrupted run keeps what it wrote, under a manifest that says
 * incomplete.
 */
export async function runModel(options: RunOptions): Promise<RunResult> {
  const { ctx } = options;
  const onProgress = options.onProgress ?? silent;
  // Checked before the run directory exists, so a refused run leaves nothing behind.
  const { taps, groups } = planRun(ctx, options.taps, options.maxMemory);
  const outDir = options.outDir ?? join('dumps', defaultRunId(ctx.loaded.path));
  const quant = options.quant;
  // The caller sets the quant backend up (the run command does, before this): not the user's to get wrong.
  if (options.backend !== 'float' && !quant) throw new InternalError(`runModel with backend '${options.backend}' needs a quant setup`);
  const run = RunDir.create(outDir, {
    model: { path: ctx.loaded.path, sha256: ctx.modelSha256 },
    inputs: ctx.sources,
    profile: quant?.profile.name ?? null,
    plan: quant ? planToFile(quant.plan) : null,
    calibrationId: quant?.calibration.id ?? null,
    taps,
  });
  const sides: { side: 'float' | 'quant'; make: () => Promise<Backend & { prepare(t: readonly string[]): Promise<void> }> }[] = [];
  if (options.backend !== 'quant') sides.push({ side: 'float', make: () => floatBackendFor(ctx) });
  if (options.backend !== 'float' && quant) sides.push({ side: 'quant', make: () => quantBackendFor(ctx, quant.plan, quant.calibration) });
  const total = groups.length * sides.length;
  let done = 0;
  try {
    for (const { side, make } of sides) {
      const backend = await make();
      try {
        await backend.prepare(taps);
        for (const group of groups) {
          if (options.signal?.aborted)
            throw new CancelledError('Run cancelled; the tensors written so far are kept and the manifest says incomplete.');
          const out = await backend.run(ctx.feeds, group);
          for (const t of group) {
            const value = out.get(t) ?? ctx.feeds.get(t);
            if (!value) continue;
            const node = ctx.graph.producer.get(t);
            run.writeTensor(side, t, value, node ? { name: node.name, opType: node.opType } : null);
          }
          done += 1;
          onProgress({ type: 'progress', stage: `run ${side}`, done, total, detail: `${group.length} tensor(s)` });
        }
      } finally {
        await backend.dispose();
      }
    }
  } catch (error) {
    run.flush();
    throw error;
  }
  run.complete();
  const manifest = run.manifest;
  return {
    outDir,
    status: manifest.status,
    taps,
    tensors: manifest.tensors.map((t) => ({ backend: t.backend, name: t.name, file: t.file, shape: t.shape, dtype: t.dtype })),
  };
}
