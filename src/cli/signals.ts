import { CancelledError, ExitCode } from '../core/errors.js';

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, so long work stops between steps and
 * leaves a manifest that says incomplete. A second signal ends the process at once.
 */
export function cancelOnSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count += 1;
    if (count > 1) process.exit(sig === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    process.stderr.write(`\nquantscope: ${sig} received; stopping after the current step (send again to quit now)\n`);
    controller.abort(new CancelledError(`Stopped by ${sig}; results written so far are kept and marked incomplete.`, sig === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
