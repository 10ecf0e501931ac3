import { Worker } from 'node:worker_threads';
import { CancelledError, InternalError, UserError, type ExitCodeValue } from '../../core/errors.js';
import type { JobRunner } from './job-runner.js';
import type { JobEvent, JobOutcome, JobRequest } from './session-jobs.js';
import type { SessionOptions } from './session.js';

/** Messages from the UI thread to the worker. */
export type ToWorker =
  | { readonly type: 'run'; readonly id: number; readonly request: JobRequest }
  | { readonly type: 'cancel'; readonly id: number; readonly reason: string };

/** An error as it crosses the thread boundary. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly exitCode?: number;
  readonly stack?: string;
}

/** Messages from the worker to the UI thread. */
export type FromWorker =
  | { readonly type: 'event'; readonly id: number; readonly event: JobEvent }
  | { readonly type: 'done'; readonly id: number; readonly outcome: JobOutcome }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError };

export function toWire(error: unknown): WireError {
  if (error instanceof Error) {
    const exitCode = error instanceof UserError ? error.exitCode : undefined;
    return { name: error.name, message: error.message, exitCode, stack: error.stack };
  }
  return { name: 'Error', message: String(error) };
}

/** The error thrown on this side for an error from the worker: the same family, same message. */
export function fromWire(wire: WireError): Error {
  if (wire.name === 'CancelledError') return new CancelledError(wire.message);
  if (wire.name === 'UserError' || wire.exitCode !== undefined) {
    return new UserError(wire.message, { exitCode: (wire.exitCode ?? 2) as ExitCodeValue });
  }
  const error = new InternalError(wire.message);
  if (wire.stack) error.stack = wire.stack;
  return error;
}

interface Pending {
  readonly onEvent: (event: JobEvent) => void;
  readonly resolve: (outcome: JobOutcome) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Runs jobs in a worker thread that opens its own copy of the session, so the JS-side work of a
 * job (QDQ rewriting, metric loops over large tensors) never delays the UI thread's keypresses.
 * Cancelling posts a message; the worker aborts the job's signal, and the job stops at its next
 * check and cleans up as it would in-process. A worker that dies (a crash in native code, a
 * module that fails to load) fails its jobs with the reason; the next job starts a new worker.
 */
export function workerRunner(options: SessionOptions): JobRunner {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let worker: Worker | null = null;
  let disposed = false;

  const failAll = (error: Error): void => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const spawn = (): Worker => {
    const w = new Worker(new URL('./session-worker.js', import.meta.url), { workerData: options });
    w.on('message', (message: FromWorker) => {
      const p = pending.get(message.id);
      if (!p) return;
      if (message.type === 'event') {
        p.onEvent(message.event);
      } else if (message.type === 'done') {
        pending.delete(message.id);
        p.resolve(message.outcome);
      } else {
        pending.delete(message.id);
        p.reject(fromWire(message.error));
      }
    });
    w.on('error', (error) => {
      if (worker === w) worker = null;
      failAll(new InternalError(`The job worker failed: ${error.message}`, { cause: error }));
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      if (pending.size > 0) failAll(new InternalError(`The job worker exited with code ${code} while a job ran.`));
    });
    // The worker must not keep the process alive once the UI has quit.
    w.unref();
    return w;
  };

  // Started right after the caller's current work (the TUI's first frame), so the worker opens
  // its session while the user looks at the graph.
  setImmediate(() => {
    if (!worker && !disposed) worker = spawn();
  });
  return {
    run(request, onEvent, signal) {
      if (disposed) return Promise.reject(new CancelledError('The session ended.'));
      if (signal.aborted) return Promise.reject(new CancelledError('Cancelled before it started.'));
      const w = worker ?? (worker = spawn());
      const id = nextId++;
      return new Promise<JobOutcome>((resolve, reject) => {
        pending.set(id, { onEvent, resolve, reject });
        signal.addEventListener(
          'abort',
          () => {
            const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
            w.postMessage({ type: 'cancel', id, reason } satisfies ToWorker);
          },
          { once: true },
        );
        w.postMessage({ type: 'run', id, request } satisfies ToWorker);
      });
    },
    async dispose() {
      disposed = true;
      failAll(new CancelledError('The session ended.'));
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
