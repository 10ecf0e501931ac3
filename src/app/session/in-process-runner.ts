import { abortOrtCalls } from '../../backends/ort-remote.js';
import { CancelledError } from '../../core/errors.js';
import type { JobRunner } from './job-runner.js';
import { executeJob, type JobEnv } from './session-exec.js';
import type { Session } from './session.js';

/**
 * Runs jobs on this thread, one at a time. Used by tests and by callers without a terminal; the
 * TUI uses the worker runner so metric loops cannot delay keypresses.
 */
export function inProcessRunner(session: Session): JobRunner {
  const env: JobEnv = { session };
  let running: Promise<unknown> = Promise.resolve();
  return {
    run(request, onEvent, signal) {
      // A cancelled job's model run is abandoned at once rather than awaited.
      signal.addEventListener(
        'abort',
        () => abortOrtCalls(signal.reason instanceof Error ? signal.reason : new CancelledError('Cancelled.')),
        { once: true },
      );
      const job = running.then(() => executeJob(env, request, onEvent, signal));
      running = job.catch(() => undefined);
      return job;
    },
    async dispose() {
      await running;
    },
  };
}
