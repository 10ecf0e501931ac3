import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { displayName } from '../../core/closest.js';
import { required, UserError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { computeMetrics } from '../../analysis/metrics.js';
import type { Backend } from '../../backends/backend.js';
import { serializeModel } from '../../onnx/index.js';
import { planCost } from '../../quant/cost.js';
import { defaultPrecision, type Plan } from '../../quant/plan.js';
import {
  defaultEmitFile,
  emitPaths,
  stageEmitModel,
  type EmitManifest,
  type EmitPaths,
  type EmitQuantFile,
} from '../../store/emit-files.js';
import { floatBackendFor, type ModelContext } from '../context.js';
import { manifestDocument, quantDocument, type InputMetrics, type OutputMetrics } from './emit-documents.js';
import { inSampleInputs, inSampleWarning } from '../evaluation.js';
import { refuseUnrunnableNames } from './emit-names.js';
import { verifyEmittedModel, type EmitVerification } from './emit-verify.js';
import { silent, throwIfCancelled, type ProgressListener } from '../events.js';
import { qdqModel, quantBackendFor, quantSource } from '../quantize.js';
import type { QuantSetup } from '../quant-setup.js';

/** Where `emit` writes when no file is named (DESIGN.md §6). */
export const DEFAULT_EMIT_DIR = 'models';

export interface EmitOptions {
  readonly ctx: ModelContext;
  readonly setup: QuantSetup;
  /** The model file to write (`.onnx`); default `<outDir>/<name>.<tag>.onnx`. */
  readonly out?: string;
  /** Default `models`. */
  readonly outDir?: string;
  /**
   * The evaluation inputs (app/evaluation.ts), run one at a time; default the context's own. The
   * manifest records each one's metrics, the worst and the mean, and whether it is in-sample.
   */
  readonly evaluation?: readonly ModelContext[];
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
  /** Each output on its worst evaluation input. */
  readonly metrics: readonly OutputMetrics[];
  readonly perInput: readonly InputMetrics[];
  /** The in-sample sentence when evaluation inputs are also calibration inputs. */
  readonly warning: string | null;
  readonly verification: EmitVerification;
}

/** The file tag: the profile's name when every node keeps the profile's default precision, else `mixed`. */
export function emitTag(ctx: ModelContext, plan: Plan): string {
  const plain = ctx.graph.nodes.every((n) => plan.precision.get(n.name) === defaultPrecision(plan.profile, n));
  return plain ? plan.profile.name : 'mixed';
}

/**
 * Emits the mixed-precision model (DESIGN.md §6): refuses a model whose inputs or outputs have
 * names onnxruntime cannot take (emit-names.ts), builds the QDQ model of the plan with no taps,
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
  refuseUnrunnableNames(ctx.graph, ctx.loaded.path);

  onProgress({ type: 'stage', stage: 'emit', detail: 'building the QDQ model' });
  const built = qdqModel(ctx, setup.plan, setup.calibration, []);
  const bytes = serializeModel(built.model);
  const outputs = ctx.graph.outputs.map((o) => o.name);

  throwIfCancelled(options.signal);
  const evaluation = options.evaluation && options.evaluation.length > 0 ? options.evaluation : [ctx];
  onProgress({
    type: 'stage',
    stage: 'emit',
    detail: `running the float model and the quant backend on ${evaluation.length} evaluation input(s)`,
  });
  const perInput: InputMetrics[] = [];
  /** The quant backend's outputs on the first evaluation input: what the written model must reproduce. */
  let quantized: Map<string, Tensor> | null = null;
  for (const c of evaluation) {
    throwIfCancelled(options.signal);
    const reference = await runOnce(await floatBackendFor(c), c.feeds);
    const test = await runOnce(await quantBackendFor(c, setup.plan, setup.calibration), c.feeds);
    quantized ??= test;
    perInput.push({
      input: c.sources.map((s) => s.source).join(', '),
      sources: c.sources,
      outputs: outputs.map((name) => ({
        name,
        metrics: computeMetrics(
          outputOf(reference, name, 'float model'),
          outputOf(test, name, 'quant backend'),
          options.peak === undefined ? {} : { peak: options.peak },
        ),
      })),
    });
  }
  // Each output on the input where its SNR is lowest.
  const metrics: OutputMetrics[] = outputs.map((_, k) =>
    perInput.map((p) => p.outputs[k]).reduce((w, o) => (o.metrics.snrDb < w.metrics.snrDb ? o : w)),
  );
  const verifyFeeds = evaluation[0].feeds;
  const shapes = new Map<string, readonly number[]>();
  for (const [name, v] of ctx.values) {
    if (v.shape && v.shape.every((d) => typeof d === 'number')) shapes.set(name, v.shape);
  }
  const cost = planCost(ctx.graph, setup.plan, shapes);

  throwIfCancelled(options.signal);
  onProgress({ type: 'stage', stage: 'emit', detail: `writing and verifying ${paths.model}` });
  const staged = stageEmitModel(paths, bytes);
  try {
    const first = required(quantized, 'emit ran no evaluation input');
    const expected = new Map(outputs.map((name) => [name, outputOf(first, name, 'quant backend')]));
    const verification = await verifyEmittedModel({
      file: staged.stagedModel,
      label: paths.model,
      source: quantSource(ctx).graph,
      plan: setup.plan,
      values: quantSource(ctx).values,
      feeds: verifyFeeds,
      expected,
    });
    const documents = {
      ctx,
      setup,
      built,
      modelFile: paths.model,
      quantFile: paths.quant,
      modelSha256: createHash('sha256').update(bytes).digest('hex'),
      metrics,
      perInput,
      inSample: inSampleInputs(evaluation, setup.calibration),
      peak: options.peak ?? null,
      cost,
      verification,
    };
    const quant = quantDocument(documents);
    const manifest = manifestDocument(documents);
    throwIfCancelled(options.signal);
    staged.commit(quant, manifest);
    return { paths, tag, quant, manifest, metrics, perInput, warning: inSampleWarning(evaluation, setup.calibration), verification };
  } finally {
    staged.discard();
  }
}

async function runOnce(backend: Backend, feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  try {
    return await backend.run(feeds, []);
  } finally {
    await backend.dispose();
  }
}

/** A graph output of a run: every backend returns the graph outputs whatever the taps (backends/backend.ts). */
function outputOf(outputs: ReadonlyMap<string, Tensor>, name: string, side: string): Tensor {
  return required(outputs.get(name), `The ${side} returned no tensor for the graph output '${displayName(name)}'.`);
}
