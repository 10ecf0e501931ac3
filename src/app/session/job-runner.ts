import type { JobEvent, JobOutcome, JobRequest } from './session-jobs.js';

/**
 * Runs session jobs somewhere: in this thread (tests) or in a worker thread (the TUI, so metric
 * loops never delay a keypress). Aborting the signal cancels the job between steps; the promise
 * then rejects with a CancelledError and whatever the job wrote is left consistent.
 */
export interface JobRunner {
  run(request: JobRequest, onEvent: (event: JobEvent) => void, signal: AbortSignal): Promise<JobOutcome>;
  /** Stops the runner; a job still running is cancelled. */
  dispose(): Promise<void>;
}
