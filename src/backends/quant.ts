import type { Tensor } from '../core/tensor.js';
import type { OnnxModel } from '../onnx/index.js';
import type { Backend } from './backend.js';
import { OrtSession, type OptimizationLevel } from './session.js';

export interface QuantBackendOptions {
  /**
   * Builds the QDQ model for a tap set (taps change the model: they split fusion groups), with
   * `outputs` (default: the taps) as its extra graph outputs.
   */
  readonly build: (taps: readonly string[], outputs?: readonly string[]) => OnnxModel;
  readonly graphOutputs: readonly string[];
  readonly optimization?: OptimizationLevel;
  readonly threads?: number;
  readonly label?: string;
}

/**
 * The emulated accelerator: the QDQ model run by onnxruntime, whose integer kernels and QDQ
 * fusions behave like a device. Unlike the float backend, a session serves exactly one tap set,
 * because each tap requantizes its tensor and so changes what is computed downstream.
 */
export class QuantBackend implements Backend {
  readonly kind = 'quant' as const;
  private current: { key: string; session: OrtSession } | null = null;
  private pinned: Set<string> | null = null;
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
   * Pins the tap set: later runs asking for a subset of it run the model whose boundaries are all
   * the pinned taps but whose outputs are only the asked ones, so a memory-bounded compare gets
   * numbers that do not depend on the grouping while onnxruntime holds one group at a time. A run
   * asking for a tap outside the pinned set unpins it.
   */
  async prepare(taps: readonly string[]): Promise<void> {
    this.pinned = new Set(taps);
  }

  /** Runs the model built for exactly these taps (as boundaries of the pinned set, when they are a subset of it). */
  async run(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>> {
    const unique = [...new Set(taps)].sort();
    const pinned = this.pinned;
    if (pinned && !unique.every((t) => pinned.has(t))) this.pinned = null;
    const boundaries = this.pinned ? [...this.pinned].sort() : unique;
    await this.open(boundaries, unique);
    this.runs += 1;
    const fetches = [...new Set([...this.options.graphOutputs, ...unique])];
    return (this.current as { session: OrtSession }).session.run(feeds, fetches);
  }

  private async open(taps: readonly string[], outputs: readonly string[]): Promise<void> {
    const key = JSON.stringify([taps, outputs]);
    if (this.current?.key === key) return;
    await this.dispose();
    const model = this.options.build(taps, outputs);
    const session = await OrtSession.create(model, {
      optimization: this.options.optimization,
      threads: this.options.threads,
      label: this.options.label ?? 'the quantized model',
    });
    this.current = { key, session };
  }

  async dispose(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await old.session.dispose();
  }
}
