import type { Tensor } from '../core/tensor.js';
import { serializeModel, type OnnxModel } from '../onnx/index.js';
import type { Backend } from './backend.js';
import { OrtSession, type OptimizationLevel } from './session.js';

export interface QuantBackendOptions {
  /** Builds the QDQ model for a tap set: taps change the model (they split fusion groups). */
  readonly build: (taps: readonly string[]) => OnnxModel;
  readonly graphOutputs: readonly string[];
  readonly optimization?: OptimizationLevel;
  readonly threads?: number;
  readonly label?: string;
  /** See SessionOptions.disableQdqFusion. */
  readonly disableQdqFusion?: boolean;
}

/**
 * The emulated accelerator: the QDQ model run by onnxruntime, whose integer kernels and QDQ
 * fusions behave like a device. Unlike the float backend, a session serves exactly one tap set,
 * because each tap requantizes its tensor and so changes what is computed downstream.
 */
export class QuantBackend implements Backend {
  readonly kind = 'quant' as const;
  private current: { key: string; taps: Set<string>; pinned: boolean; session: OrtSession } | null = null;
  /** How many distinct QDQ models were built and run (bisect reports this). */
  runs = 0;

  private constructor(private readonly options: QuantBackendOptions) {}

  static async create(options: QuantBackendOptions): Promise<QuantBackend> {
    return new QuantBackend(options);
  }

  /** The QDQ model for a tap set, as `emit` writes it. */
  modelFor(taps: readonly string[]): OnnxModel {
    return this.options.build(taps);
  }

  /**
   * Pins the model to a tap set: later runs asking for a subset of it fetch from that model, so
   * a memory-bounded compare reads every group from one model whose numerics do not depend on
   * the grouping. A run asking for a tap outside the pinned set unpins it.
   */
  async prepare(taps: readonly string[]): Promise<void> {
    await this.open(taps, true);
  }

  /** Runs the model built for exactly these taps (or the pinned model, when they are a subset of its taps). */
  async run(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>> {
    const unique = [...new Set(taps)].sort();
    const pinnedFits = this.current?.pinned === true && unique.every((t) => this.current?.taps.has(t));
    if (!pinnedFits) await this.open(unique, false);
    this.runs += 1;
    const fetches = [...new Set([...this.options.graphOutputs, ...unique])];
    return (this.current as { session: OrtSession }).session.run(feeds, fetches);
  }

  private async open(taps: readonly string[], pinned: boolean): Promise<void> {
    const unique = [...new Set(taps)].sort();
    const key = JSON.stringify(unique);
    if (this.current?.key === key) {
      this.current.pinned = pinned;
      return;
    }
    await this.dispose();
    const model = this.options.build(unique);
    const session = await OrtSession.create(serializeModel(model), {
      optimization: this.options.optimization,
      threads: this.options.threads,
      label: this.options.label ?? 'the quantized model',
      disableQdqFusion: this.options.disableQdqFusion,
    });
    this.current = { key, taps: new Set(unique), pinned, session };
  }

  async dispose(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await old.session.dispose();
  }
}
