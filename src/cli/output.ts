import type { ProgressEvent, ProgressListener } from '../app/events.js';
import { logProgress, type ProgressClock } from './progress-log.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity" and "NaN". */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return Number(value);
  return value;
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Says on stderr which files a command wrote, one `wrote PATH` line each, whatever stdout
 * carries (a table, --json, CSV); nothing with --quiet. For the commands whose result on stdout
 * does not name its files.
 */
export function reportWritten(paths: readonly string[], options: { quiet?: boolean; write?: (text: string) => void } = {}): void {
  if (options.quiet) return;
  const write =
    options.write ??
    ((text: string) => {
      process.stderr.write(text);
    });
  for (const path of paths) write(`wrote ${path}\n`);
}

export interface ProgressOptions {
  /** --quiet: nothing at all. */
  readonly quiet?: boolean;
  /** Whether stderr is a terminal (default: asks stderr). */
  readonly tty?: boolean;
  /** Where the lines go (default stderr). */
  readonly write?: (text: string) => void;
  /** Time and timer of the lines for a log (default the system's); see logProgress. */
  readonly clock?: ProgressClock;
  readonly intervalMs?: number;
}

/**
 * Progress on stderr, so stdout stays clean for --json and reports: on a terminal one line
 * rewritten in place; otherwise lines for a log, at most one per stage every few seconds with
 * counts and an estimate of the time left (cli/progress-log.ts); nothing with --quiet.
 */
export function progressPrinter(options: ProgressOptions = {}): ProgressListener {
  if (options.quiet) return () => {};
  const write =
    options.write ??
    ((text: string) => {
      process.stderr.write(text);
    });
  if (!(options.tty ?? process.stderr.isTTY === true)) return logProgress(write, { clock: options.clock, intervalMs: options.intervalMs });
  let open = false;
  return (event: ProgressEvent) => {
    if (event.type === 'log') {
      if (open) {
        write('\n');
        open = false;
      }
      write(`${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
      return;
    }
    if (event.type === 'stage') {
      if (open) {
        write('\n');
        open = false;
      }
      write(`${event.stage}${event.detail ? `: ${event.detail}` : ''}\n`);
      return;
    }
    const line = `${event.stage} ${event.done}/${event.total}${event.detail ? ` ${event.detail}` : ''}`;
    write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
    open = event.done < event.total;
    if (!open) write('\n');
  };
}
