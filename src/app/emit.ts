import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { computeMetrics } from '../analysis/metrics.js';
import { serializeModel } from '../onnx/index.js';
import { planCost } from '../quant/cost.js';
import { defaultPrecision, type Plan } from '../quant/plan.js';
import { defaultEmitFile, emitPaths, stageEmitModel, type EmitManifest, type EmitPaths, type EmitQuantFile } from '../store/emit-files.js';
import { floatBackendFor, type ModelContext } from './context.js';
import { manifestDocument, quantDocument, type OutputMetrics } from './emit-documents.js';
import { verifyEmittedModel, type EmitVerification } from './emit-verify.js';
import { silent, throwIfCancelled, type ProgressListener } from './events.js';
import { qdqModel, quantBackendFor, quantSource } from './quantize.js';
import type { QuantSetup } from './quant-setup.js';

/** Where `emit` writes when no file is named (DESIGN.md §6). */
export const DEFAULT_EMIT_DIR = 'models';

export interface EmitOptions {
  readonly ctx: ModelContext;
  readonly setup: QuantSetup;
  /** The model file to write (`.onnx`); default `<outDir>/<name>.<tag>.onnx`. */
  readonly out?: string;
  /** Default `models`. */
  readonly outDir?: string;
  /** Peak for the PSNR in the manifest; default max |reference| per output. */
  readonly peak?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface EmitResult {
  readonly paths: EmitPaths;
  readonly tag: string;
  readonly quant: EmitQuantFile;
  readonly manifest: EmitManifest;
  readonly metrics: readonly OutputMetrics[];
  readonly verification: EmitVerification;
}

/** The file tag: the profile's name when every node keeps the profile's default precision, else `mixed`. */
export function emitTag(ctx: ModelContext, plan: Plan): string {
  const plain = ctx.graph.nodes.every((n) => plan.precision.get(n.name) === defaultPrecision(plan.profile, n));
  return plain ? plan.profile.name : 'mixed';
}

/**
 * Emits the mixed-precision model (DESIGN.md §6): builds the QDQ model of the plan with no taps,
 * runs the float model and the quant backend on the evaluation inputs (the metrics the manifest
 * records), writes the model under a temporary name, verifies it (emit-verify.ts: every node's
 * precision read back from the file, and a fresh onnxruntime session reproducing the quant
 * backend's outputs exactly), and only then writes the quant.json and manifest and moves all
 * three into place. A failed verification leaves nothing under the final names.
 */
export async function emitModel(options: EmitOptions): Promise<EmitResult> {
  const { ctx, setup } = options;
  const onProgress = options.onProgress ?? silent;
  const tag = emitTag(ctx, setup.plan);
  const paths = emitPaths(options.out ?? defaultEmitFile(options.outDir ?? DEFAULT_EMIT_DIR, ctx.modelName, tag));
  for (const p of Object.values(paths)) {
    if (resolve(p) === resolve(ctx.loaded.path)) {
      throw new UserError(`Emitting to '${displayName(p)}' would overwrite the source model; choose another --out.`);
    }
  }

  onProgress({ type: 'stage', stage: 'emit', detail: 'building the QDQ model' });
  const built = qdqModel(ctx, setup.plan, setup.calibration, []);
  const bytes = serializeModel(built.model);
  const outputs = ctx.graph.outputs.map((o) => o.name);

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'emit', detail: 'running the float model and the quant backend on the evaluation inputs' });
  const reference = await runOnce(await floatBackendFor(ctx), ctx.feeds);
  const quantized = await runOnce(await quantBackendFor(ctx, setup.plan, setup.calibration), ctx.feeds);
  const metrics: OutputMetrics[] = outputs.map((name) => ({
    name,
    metrics: computeMetrics(reference.get(name) as Tensor, quantized.get(name) as Tensor, options.peak === undefined ? {} : { peak: options.peak }),
  }));
  const shapes = new Map<string, number[]>();
  for (const [name, v] of ctx.values) {
    if (v.shape && v.shape.every((d) => typeof d === 'number')) shapes.set(name, v.shape as number[]);
  }
  const cost = planCost(ctx.graph, setup.plan, shapes);

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'emit', detail: `writing and verifying ${paths.model}` });
  const staged = stageEmitModel(paths, bytes);
  try {
    const expected = new Map(outputs.map((name) => [name, quantized.get(name) as Tensor]));
    const verification = await verifyEmittedModel({
      file: staged.stagedModel, label: paths.model, source: quantSource(ctx).graph, plan: setup.plan, values: quantSource(ctx).values,
      feeds: ctx.feeds, expected,
    });
    const documents = {
      ctx, setup, built, modelFile: paths.model, quantFile: paths.quant,
      modelSha256: createHash('sha256').update(bytes).digest('hex'),
      metrics, peak: options.peak ?? null, cost, verification,
    };
    const quant = quantDocument(documents);
    const manifest = manifestDocument(documents);
    throwIfCancelled(options.signal);
    staged.commit(quant, manifest);
    return { paths, tag, quant, manifest, metrics, verification };
  } finally {
    staged.discard();
  }
}

async function runOnce(backend: { run(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>>; dispose(): Promise<void> }, feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  try {
    return await backend.run(feeds, []);
  } finally {
    await backend.dispose();
  }
}
