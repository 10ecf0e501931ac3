import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CancelledError } from '../core/errors.js';
import type { FromOrt, ToOrt, WireSessionOptions, WireTensor } from './ort-wire.js';

/**
 * onnxruntime sessions on a thread of their own (ort-worker.ts). onnxruntime-node runs a model
 * synchronously on the calling thread: on the main thread, a udnie run of several seconds blocks
 * signal handlers and keypresses, so a cancel could only take effect after it. Here the main
 * thread waits on a message instead, and abortOrtCalls() rejects every pending call at once and
 * retires the thread: it ends by itself once its current native call returns (terminating it
 * inside one would abort the whole process). Until then ortThreadBusy() says so, and a process
 * that must end now ends by its signal instead (cli/signals.ts). A session whose thread was
 * retired is created again, from the bytes it keeps, on the next thread when it is next used.
 */

/** Where the compiled worker is: beside this file, or in dist/ when the sources run under a TypeScript runner. */
function workerUrl(): URL {
  const here = new URL('./ort-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/backends/ort-worker.js', import.meta.url);
}

/** A message to the thread before it gets its id. */
type Body = ToOrt extends infer M ? (M extends ToOrt ? Omit<M, 'id'> : never) : never;

interface Pending {
  readonly resolve: (message: FromOrt) => void;
  readonly reject: (error: Error) => void;
}

class OrtThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  retired = false;

  constructor() {
    this.worker = new Worker(workerUrl());
    this.worker.unref();
    this.worker.on('message', (message: FromOrt) => {
      const p = this.pending.get(message.id);
      if (!p) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      if (message.type === 'failed') p.reject(new Error(message.message));
      else p.resolve(message);
    });
    this.worker.on('error', (error) => this.retire(new Error(`the onnxruntime thread failed: ${error.message}`)));
    this.worker.on('exit', (code) => {
      this.exited = true;
      winding.delete(this);
      this.retire(new Error(`the onnxruntime thread exited with code ${code}`));
    });
  }

  /** Whether a call is waiting for the thread. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  call(message: Body, transfer: ArrayBuffer[] = []): Promise<FromOrt> {
    if (this.retired) return Promise.reject(new CancelledError('The onnxruntime thread was stopped.'));
    const id = this.nextId++;
    return new Promise<FromOrt>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Referenced while a call waits, so the process does not end under it.
      this.worker.ref();
      this.worker.postMessage({ ...message, id } as ToOrt, transfer);
    });
  }

  /** Rejects every pending call with `reason`; the thread ends by itself after its current native call. */
  retire(reason: Error): void {
    if (this.retired) return;
    this.retired = true;
    const inFlight = this.pending.size > 0;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    if (current === this) current = null;
    if (!this.exited) {
      if (inFlight) winding.add(this);
      this.worker.postMessage({ type: 'quit', id: 0 } satisfies ToOrt);
      this.worker.unref();
    }
  }

  exited = false;
}

let current: OrtThread | null = null;
/** Retired threads still inside a native call. */
const winding = new Set<OrtThread>();
let nextSession = 1;

function thread(): OrtThread {
  current ??= new OrtThread();
  return current;
}

/**
 * Rejects every onnxruntime call in progress with `reason` (a CancelledError): the first SIGINT,
 * or Esc in the terminal UI. Sessions stay usable: they are created again when next used.
 */
export function abortOrtCalls(reason: Error): void {
  if (current?.busy) current.retire(reason);
}

/**
 * Whether an onnxruntime call is running natively right now (in use, or abandoned and not yet
 * returned). Ending the process then would abort it inside onnxruntime.
 */
export function ortThreadBusy(): boolean {
  return winding.size > 0 || (current?.busy ?? false);
}

export interface RemoteOutputMeta {
  readonly isTensor: boolean;
  readonly type: string;
}

/** An onnxruntime InferenceSession on the onnxruntime thread. */
export class RemoteSession {
  private on: OrtThread | null = null;
  private readonly id = nextSession++;
  private names: { inputNames: string[]; outputNames: string[]; outputs: RemoteOutputMeta[] } = {
    inputNames: [],
    outputNames: [],
    outputs: [],
  };

  private constructor(
    private readonly bytes: Uint8Array,
    private readonly options: WireSessionOptions | null,
  ) {}

  /** Creates the session; `options` null gives onnxruntime's defaults (no options object at all). */
  static async create(bytes: Uint8Array, options: WireSessionOptions | null): Promise<RemoteSession> {
    const session = new RemoteSession(bytes, options);
    await session.ensure();
    return session;
  }

  get inputNames(): readonly string[] {
    return this.names.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.names.outputNames;
  }
  get outputMetadata(): readonly RemoteOutputMeta[] {
    return this.names.outputs;
  }

  /** The thread the session lives on, creating it there when it is new or its thread was retired. */
  private async ensure(): Promise<OrtThread> {
    if (this.on && !this.on.retired) return this.on;
    const t = thread();
    const reply = await t.call({ type: 'create', session: this.id, bytes: this.bytes, options: this.options });
    if (reply.type !== 'created') throw new Error(`unexpected reply '${reply.type}' to create`);
    this.names = { inputNames: reply.inputNames, outputNames: reply.outputNames, outputs: reply.outputs };
    this.on = t;
    return t;
  }

  async run(feeds: Record<string, WireTensor>, fetches?: readonly string[]): Promise<Record<string, WireTensor>> {
    const t = await this.ensure();
    const reply = await t.call({ type: 'run', session: this.id, feeds, fetches: fetches ? [...fetches] : null });
    if (reply.type !== 'ran') throw new Error(`unexpected reply '${reply.type}' to run`);
    return reply.outputs;
  }

  /** Times `repeat` runs after `warmup` untimed ones, on the onnxruntime thread (no transfer in the timings). */
  async time(feeds: Record<string, WireTensor>, warmup: number, repeat: number): Promise<number[]> {
    const t = await this.ensure();
    const reply = await t.call({ type: 'time', session: this.id, feeds, warmup, repeat });
    if (reply.type !== 'timed') throw new Error(`unexpected reply '${reply.type}' to time`);
    return reply.ms;
  }

  /** Ends onnxruntime's profiling (a session created with enableProfiling): the trace file is written. */
  async endProfiling(): Promise<void> {
    const t = await this.ensure();
    const reply = await t.call({ type: 'endProfiling', session: this.id });
    if (reply.type !== 'profiled') throw new Error(`unexpected reply '${reply.type}' to endProfiling`);
  }

  async release(): Promise<void> {
    const t = this.on;
    this.on = null;
    if (t && !t.retired) await t.call({ type: 'release', session: this.id });
  }
}
