import { parentPort, workerData } from 'node:worker_threads';
import { abortOrtCalls } from '../../backends/ort-remote.js';
import { CancelledError } from '../../core/errors.js';
import { executeJob, type JobEnv } from './session-exec.js';
import { openSession, type SessionOptions } from './session.js';
import { toWire, type FromWorker, type ToWorker } from './worker-runner.js';

/**
 * The job worker's entry point (see worker-runner.ts). It opens the session once, then runs one
 * job at a time as messages arrive; a cancel message aborts the job's signal.
 */
const port = parentPort;
if (!port) throw new Error('session-worker.js runs only as a worker thread');

const options = workerData as SessionOptions;
const envPromise: Promise<JobEnv> = openSession(options).then((session) => ({ session }));
// Opening fails again, with its message, when a job asks for the environment.
envPromise.catch(() => {});
const controllers = new Map<number, AbortController>();

port.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') {
    const reason = new CancelledError(message.reason);
    controllers.get(message.id)?.abort(reason);
    // The job's model run is abandoned at once rather than awaited (Esc takes effect now).
    abortOrtCalls(reason);
    return;
  }
  const controller = new AbortController();
  controllers.set(message.id, controller);
  const post = (m: FromWorker): void => port.postMessage(m);
  envPromise
    .then((env) => executeJob(env, message.request, (event) => post({ type: 'event', id: message.id, event }), controller.signal))
    .then(
      (outcome) => post({ type: 'done', id: message.id, outcome }),
      (error: unknown) => post({ type: 'failed', id: message.id, error: toWire(error) }),
    )
    .finally(() => controllers.delete(message.id));
});
