import { abortOrtCalls, ortThreadBusy } from '../backends/ort-remote.js';
import { CancelledError, ExitCode } from '../core/errors.js';

/**
 * An AbortSignal that fires on the first SIGINT or SIGTERM, so long work stops between steps and
 * leaves a manifest that says incomplete; an onnxruntime call in progress is abandoned at once
 * (the model runs on its own thread). A second signal ends the process at once.
 */
export function cancelOnSignals(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count += 1;
    if (count > 1) endNow(sig, sig === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    process.stderr.write(`\nquantscope: ${sig} received; stopping after the current step (send again to quit now)\n`);
    const reason = new CancelledError(
      `Stopped by ${sig}; results written so far are kept and marked incomplete.`,
      sig === 'SIGTERM' ? 'SIGTERM' : 'SIGINT',
    );
    controller.abort(reason);
    // A model running on the onnxruntime thread is not waited for: its result would be dropped.
    abortOrtCalls(reason);
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

/**
 * Ends the process at once with `code`, the shell's 128 + signal. While onnxruntime is inside a
 * native call on its thread, an exit would abort inside it ("terminate called"): the process then
 * ends by the signal itself, default action restored, which the shell reports with the same code.
 */
export function endNow(sig: NodeJS.Signals, code: number): never {
  if (ortThreadBusy()) {
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  }
  process.exit(code);
}
