/** Progress events that use-cases emit; the CLI prints them, the TUI turns them into state. */
export type ProgressEvent =
  | { readonly type: 'stage'; readonly stage: string; readonly detail?: string }
  | { readonly type: 'progress'; readonly stage: string; readonly done: number; readonly total: number; readonly detail?: string }
  | { readonly type: 'log'; readonly level: 'info' | 'warn'; readonly message: string };

export type ProgressListener = (event: ProgressEvent) => void;

export const silent: ProgressListener = () => {};

/** Throws the signal's reason when the user has cancelled. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}
