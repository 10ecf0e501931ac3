import ort from 'onnxruntime-node';
import { displayName } from '../core/closest.js';
import { UserError, messageOf } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { dtypeOfOrtType, fromOrtTensor, isOrtDType, toOrtTensor } from './ort-tensor.js';

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  readonly optimization?: OptimizationLevel;
  readonly threads?: number;
  /** Shown in errors: the model file or a description of the rewritten model. */
  readonly label: string;
  /**
   * Keep QuantizeLinear/DequantizeLinear as separate ops instead of fusing them into integer
   * kernels. Needed below opset 10, where onnxruntime's fusion would emit QLinearConv into an
   * opset that lacks it.
   */
  readonly disableQdqFusion?: boolean;
}

/**
 * One onnxruntime session over serialized model bytes, translating core tensors in and out.
 * The only place (with ort-tensor.ts) that touches onnxruntime types.
 */
export class OrtSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly label: string,
  ) {}

  static async create(bytes: Uint8Array, options: SessionOptions): Promise<OrtSession> {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: options.optimization ?? 'all',
        enableCpuMemArena: false,
        logSeverityLevel: 4,
        // onnxruntime refuses an explicit undefined here, so the key is present only when set.
        ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
        ...(options.disableQdqFusion ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
      });
      return new OrtSession(session, options.label);
    } catch (error) {
      throw new UserError(`onnxruntime could not load ${options.label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  /**
   * A session with onnxruntime's default options and nothing else (no provider list, no
   * optimization level): what a user's `new InferenceSession(model)` gets. emit verifies with it,
   * so an emitted model that needs a session option fails verification.
   */
  static async createWithDefaults(bytes: Uint8Array, label: string): Promise<OrtSession> {
    try {
      return new OrtSession(await ort.InferenceSession.create(bytes), label);
    } catch (error) {
      throw new UserError(`onnxruntime could not load ${label} with default options (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Runs once and returns the requested outputs (all outputs when `fetches` is omitted). */
  async run(feeds: ReadonlyMap<string, Tensor>, fetches?: readonly string[]): Promise<Map<string, Tensor>> {
    refuseNul(feeds.keys(), 'input', this.label);
    refuseNul(fetches ?? [], 'tensor', this.label);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const t = feeds.get(name);
      if (!t) throw new UserError(`No value was given for the model input '${displayName(name)}' of ${this.label}.`);
      if (!isOrtDType(t.dtype)) throw new UserError(`onnxruntime-node cannot take the ${t.dtype} input '${displayName(name)}' of ${this.label}.`);
      ortFeeds[name] = toOrtTensor(t);
    }
    for (const name of fetches ?? this.session.outputNames) this.checkFetchable(name);
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = fetches ? await this.session.run(ortFeeds, [...fetches]) : await this.session.run(ortFeeds);
    } catch (error) {
      throw new UserError(`onnxruntime failed to run ${this.label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
    const out = new Map<string, Tensor>();
    for (const [name, value] of Object.entries(results)) {
      out.set(name, fromOrtTensor(value as ort.Tensor));
      (value as ort.Tensor).dispose?.();
    }
    return out;
  }

  /**
   * Refuses, before running, an output the binding cannot hand back: it aborts the process (rather
   * than throwing) when asked for an int4/uint4 tensor.
   */
  private outputIndex: Map<string, number> | undefined;

  private checkFetchable(name: string): void {
    this.outputIndex ??= new Map(this.session.outputNames.map((n, i) => [n, i]));
    const meta = this.session.outputMetadata[this.outputIndex.get(name) ?? -1];
    if (meta?.isTensor && dtypeOfOrtType(meta.type) === undefined) {
      throw new UserError(`onnxruntime-node cannot return the ${meta.type} tensor '${displayName(name)}' of ${this.label}.`);
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The first line of an onnxruntime message, escaped: it quotes node and tensor names from the
 * model, which may hold terminal escape sequences or NUL.
 */
function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return displayName(line, 300);
}

/**
 * onnxruntime-node passes names to C as NUL-terminated strings, so a name with a NUL in it would be
 * cut there and fail as a different, confusing name (or match another tensor): refuse it clearly.
 */
function refuseNul(names: Iterable<string>, what: 'input' | 'tensor', label: string): void {
  for (const name of names) {
    if (name.includes('\0')) {
      throw new UserError(`The ${what} '${displayName(name)}' of ${label} has a NUL character in its name, which onnxruntime cannot handle (it cuts the name there); rename it in the model${what === 'tensor' ? ' or leave it out of the taps' : ''}.`);
    }
  }
}
