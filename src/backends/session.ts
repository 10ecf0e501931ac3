import { displayName } from '../core/closest.js';
import { CancelledError, UserError, messageOf } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { serializeModel, type OnnxModel } from '../onnx/index.js';
import { dtypeOfOrtType, fromWireTensor, isOrtDType, toWireTensor } from './ort-tensor.js';
import { RemoteSession } from './ort-remote.js';
import type { WireTensor } from './ort-wire.js';
import { RuntimeNames, runtimeModel, runtimeNameProblem } from './runtime-names.js';

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
 * onnxruntime's intra-op threads: the backend's own setting, else QUANTSCOPE_ORT_THREADS (a whole
 * number >= 1; the test suite sets 1, since it runs test files side by side), else onnxruntime's
 * default.
 */
function intraOpThreads(threads: number | undefined): number | undefined {
  if (threads !== undefined) return threads;
  const fromEnv = Number(process.env.QUANTSCOPE_ORT_THREADS);
  return Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : undefined;
}

/**
 * One onnxruntime session over a model, translating core tensors in and out, and tensor names
 * (runtime-names.ts): feeds, fetches and results use the model's own names, whatever alias
 * onnxruntime was given. The only place (with ort-tensor.ts) that touches onnxruntime types.
 */
export class OrtSession {
  private constructor(
    private readonly session: RemoteSession,
    private readonly label: string,
    private readonly names: RuntimeNames,
  ) {}

  /**
   * A session over `model`, its tensor names that onnxruntime cannot take aliased: how the
   * backends build every session, so that any tensor can be fed or fetched by its own name.
   */
  static async create(model: OnnxModel, options: SessionOptions): Promise<OrtSession> {
    const runtime = runtimeModel(model);
    return OrtSession.open(serializeModel(runtime.model), runtime.names, options);
  }

  /**
   * A session over a file's own bytes, names as they are (a name onnxruntime cannot take is
   * refused when it is fed or fetched): for asking whether onnxruntime loads the file as shipped.
   */
  static async fromBytes(bytes: Uint8Array, options: SessionOptions): Promise<OrtSession> {
    return OrtSession.open(bytes, RuntimeNames.identity, options);
  }

  private static async open(bytes: Uint8Array, names: RuntimeNames, options: SessionOptions): Promise<OrtSession> {
    const threads = intraOpThreads(options.threads);
    try {
      const session = await RemoteSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: options.optimization ?? 'all',
        enableCpuMemArena: false,
        logSeverityLevel: 4,
        // onnxruntime refuses an explicit undefined here, so the key is present only when set.
        ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
        ...(options.disableQdqFusion ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
      });
      return new OrtSession(session, options.label, names);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new UserError(`onnxruntime could not load ${options.label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  /**
   * A session with onnxruntime's default options and nothing else (no provider list, no
   * optimization level): what a user's `new InferenceSession(model)` gets. emit verifies with it,
   * so an emitted model that needs a session option fails verification. Like fromBytes, names are
   * the file's own.
   */
  static async createWithDefaults(bytes: Uint8Array, label: string): Promise<OrtSession> {
    try {
      return new OrtSession(await RemoteSession.create(bytes, null), label, RuntimeNames.identity);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new UserError(`onnxruntime could not load ${label} with default options (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  /**
   * A session for timing `model` as a user's plain `InferenceSession.create` runs it (onnxruntime's
   * default options), names aliased as in create(); with `profilePrefix`, onnxruntime profiles every
   * node and endProfiling() writes `<profilePrefix>_<date>.json`.
   */
  static async forTiming(model: OnnxModel, label: string, profilePrefix?: string): Promise<OrtSession> {
    const runtime = runtimeModel(model);
    try {
      const options = profilePrefix === undefined ? null : { enableProfiling: true, profileFilePrefix: profilePrefix };
      return new OrtSession(await RemoteSession.create(serializeModel(runtime.model), options), label, runtime.names);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new UserError(`onnxruntime could not load ${label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  /** Milliseconds of each of `repeat` runs on `feeds`, after `warmup` untimed runs. */
  async time(feeds: ReadonlyMap<string, Tensor>, warmup: number, repeat: number): Promise<number[]> {
    const wire: Record<string, WireTensor> = {};
    for (const runtimeName of this.session.inputNames) {
      const name = this.names.original(runtimeName);
      const t = feeds.get(name);
      if (!t) throw new UserError(`No value was given for the model input '${displayName(name)}' of ${this.label}.`);
      wire[runtimeName] = toWireTensor(t);
    }
    try {
      return await this.session.time(wire, warmup, repeat);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new UserError(`onnxruntime failed to run ${this.label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
  }

  /** Ends profiling (a session made by forTiming with a prefix): onnxruntime writes its trace file. */
  async endProfiling(): Promise<void> {
    await this.session.endProfiling();
  }

  /** The model's output names. */
  get outputNames(): readonly string[] {
    return this.session.outputNames.map((n) => this.names.original(n));
  }

  /** The model's input names. */
  get inputNames(): readonly string[] {
    return this.session.inputNames.map((n) => this.names.original(n));
  }

  /**
   * Runs once and returns the requested outputs (all outputs when `fetches` is omitted). Feeds,
   * fetches and results are keyed by the model's own names.
   */
  async run(feeds: ReadonlyMap<string, Tensor>, fetches?: readonly string[]): Promise<Map<string, Tensor>> {
    for (const name of feeds.keys()) refuseUnsafe(name, this.names.runtime(name), 'input', this.label);
    const ortFeeds: Record<string, WireTensor> = {};
    for (const runtimeName of this.session.inputNames) {
      const name = this.names.original(runtimeName);
      const t = feeds.get(name);
      if (!t) throw new UserError(`No value was given for the model input '${displayName(name)}' of ${this.label}.`);
      if (!isOrtDType(t.dtype))
        throw new UserError(`onnxruntime-node cannot take the ${t.dtype} input '${displayName(name)}' of ${this.label}.`);
      ortFeeds[runtimeName] = toWireTensor(t);
    }
    const runtimeFetches = fetches?.map((name) => {
      const runtimeName = this.names.runtime(name);
      refuseUnsafe(name, runtimeName, 'tensor', this.label);
      return runtimeName;
    });
    for (const runtimeName of runtimeFetches ?? this.session.outputNames) this.checkFetchable(runtimeName);
    let results: Record<string, WireTensor>;
    try {
      results = runtimeFetches ? await this.session.run(ortFeeds, runtimeFetches) : await this.session.run(ortFeeds);
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      throw new UserError(`onnxruntime failed to run ${this.label} (${firstLine(messageOf(error))}).`, { cause: error });
    }
    const out = new Map<string, Tensor>();
    for (const [runtimeName, value] of Object.entries(results)) {
      out.set(this.names.original(runtimeName), fromWireTensor(value));
    }
    return out;
  }

  /**
   * Refuses, before running, an output the binding cannot hand back: it aborts the process (rather
   * than throwing) when asked for an int4/uint4 tensor.
   */
  private outputIndex: Map<string, number> | undefined;

  private checkFetchable(runtimeName: string): void {
    this.outputIndex ??= new Map(this.session.outputNames.map((n, i) => [n, i]));
    const meta = this.session.outputMetadata[this.outputIndex.get(runtimeName) ?? -1];
    if (meta?.isTensor && dtypeOfOrtType(meta.type) === undefined) {
      throw new UserError(
        `onnxruntime-node cannot return the ${meta.type} tensor '${displayName(this.names.original(runtimeName))}' of ${this.label}.`,
      );
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
 * A name onnxruntime would be given unaliased although it cannot take it (runtime-names.ts), which
 * only a session over a file's own bytes (fromBytes, createWithDefaults) can meet: refused by name
 * rather than failing as a different, confusing name or matching another tensor.
 */
function refuseUnsafe(name: string, runtimeName: string, what: 'input' | 'tensor', label: string): void {
  const problem = runtimeNameProblem(runtimeName);
  if (problem !== undefined) {
    throw new UserError(
      `The ${what} '${displayName(name)}' of ${label} has ${problem} in its name, which onnxruntime cannot take as an input or output name; rename it in the model.`,
    );
  }
}
