import type { Tensor } from '../core/tensor.js';
import { editModel, graphOf, prefixModel, type OnnxModel } from '../onnx/index.js';
import type { Backend } from './backend.js';
import { OrtSession, type OptimizationLevel } from './session.js';
import { TapSessionCache } from './tap-session-cache.js';

export interface FloatBackendOptions {
  readonly optimization?: OptimizationLevel;
  readonly threads?: number;
  readonly label?: string;
}

/**
 * The float reference: the original model on onnxruntime's CPU provider in fp32, with the taps
 * added as graph outputs. A session is built for a tap set and reused while runs ask for the
 * same set.
 */
export class FloatBackend implements Backend {
  readonly kind = 'float' as const;
  private readonly cache: TapSessionCache;
  /** Sessions of the model cut to a tap set (fetch). */
  private readonly cutCache: TapSessionCache;

  private constructor(
    private readonly model: OnnxModel,
    options: FloatBackendOptions,
  ) {
    const outputs = graphOf(model).outputs.map((o) => o.name);
    this.cache = new TapSessionCache(outputs, (taps) =>
      OrtSession.create(editModel(this.model, { addOutputs: taps }), {
        optimization: options.optimization,
        threads: options.threads,
        label: options.label ?? 'the float model',
      }),
    );
    this.cutCache = new TapSessionCache([], (taps) =>
      OrtSession.create(prefixModel(this.model, taps) ?? editModel(this.model, { addOutputs: taps }), {
        optimization: options.optimization,
        threads: options.threads,
        label: options.label ?? 'the float model',
      }),
    );
  }

  static async create(model: OnnxModel, options: FloatBackendOptions = {}): Promise<FloatBackend> {
    return new FloatBackend(model, options);
  }

  /**
   * Announces the taps later runs will ask for, in groups. Float numbers do not depend on which
   * tensors are outputs, so each group gets a session of its own (see TapSessionCache): nothing
   * to build up front.
   */
  async prepare(_taps: readonly string[]): Promise<void> {
    // Deliberately empty: see the doc comment.
  }

  /** Builds the session for these taps now, so that a model onnxruntime refuses fails here rather than at the first run. */
  async load(taps: readonly string[] = []): Promise<void> {
    await this.cache.sessionFor(taps);
  }

  async run(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>> {
    const { session, fetches } = await this.cache.sessionFor(taps);
    return session.run(feeds, fetches);
  }

  /**
   * Only these taps, not the graph outputs: the model cut to the nodes they depend on
   * (onnx/prefix.ts), so a tap early in the graph costs only the part of the model before it.
   */
  async fetch(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>> {
    const { session, fetches } = await this.cutCache.sessionFor(taps);
    return session.run(feeds, fetches);
  }

  async dispose(): Promise<void> {
    await this.cutCache.dispose();
    await this.cache.dispose();
  }
}
