/** Exit codes shared by every command (DESIGN.md §7). */
export const ExitCode = {
  ok: 0,
  qualityGate: 1,
  usage: 2,
  internal: 3,
  /** Stopped by SIGINT (Ctrl-C): 128 + 2, the shell's convention. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * A problem with what the user gave us (a file, a flag, a tensor name). Printed as one sentence,
 * without a stack, and mapped to its exit code by the CLI entry point.
 */
export class UserError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, options: { exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? ExitCode.usage;
  }
}

/** A bug in quantscope: printed with its stack, exit code 3. */
export class InternalError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InternalError';
  }
}

/**
 * A value that quantscope's own code guarantees (a map entry it wrote, a node its graph holds),
 * checked: an InternalError with `message` when it is undefined or null, so a broken invariant
 * fails where it breaks instead of as a TypeError further on.
 */
export function required<T>(value: T, message: string): NonNullable<T> {
  if (value === undefined || value === null) throw new InternalError(message);
  return value;
}

/** The user cancelled long work (Ctrl-C, Esc). Results written so far are kept and marked incomplete. */
export class CancelledError extends Error {
  /** The signal that stopped the work, when one did (the CLI exits 130 or 143 for it). */
  readonly signal: 'SIGINT' | 'SIGTERM' | null;

  constructor(message = 'cancelled', signal: 'SIGINT' | 'SIGTERM' | null = null) {
    super(message);
    this.name = 'CancelledError';
    this.signal = signal;
  }
}

/** The message of anything thrown, for wrapping foreign errors once at a boundary. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
