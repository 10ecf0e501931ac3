import { CancelledError, ExitCode, InternalError, UserError, type ExitCodeValue } from '../core/errors.js';

/** The one place that maps thrown errors to a printed line and an exit code. */
export function reportError(error: unknown, write: (text: string) => void): ExitCodeValue {
  if (error instanceof UserError) {
    write(`quantscope: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof CancelledError) {
    write(`quantscope: ${error.message}\n`);
    // 130 for Ctrl-C (and a cancel with no signal), 143 for SIGTERM: the shell's 128 + signal.
    return error.signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
  }
  if (error instanceof InternalError || error instanceof Error) {
    write(`quantscope: internal error: ${error.stack ?? error.message}\n`);
    return ExitCode.internal;
  }
  write(`quantscope: internal error: ${String(error)}\n`);
  return ExitCode.internal;
}
