import type { ProgressEvent, ProgressListener } from '../app/events.js';

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
 * Progress on stderr: a rewritten line on a terminal, one line per stage otherwise, nothing
 * with --quiet. Keeps stdout clean for --json and report output.
 */
export function progressPrinter(options: { quiet?: boolean } = {}): ProgressListener {
  const tty = process.stderr.isTTY === true;
  let open = false;
  let lastStage = '';
  return (event: ProgressEvent) => {
    if (options.quiet) return;
    if (event.type === 'log') {
      if (open) { process.stderr.write('\n'); open = false; }
      process.stderr.write(`${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
      return;
    }
    if (event.type === 'stage') {
      if (open) { process.stderr.write('\n'); open = false; }
      process.stderr.write(`${event.stage}${event.detail ? `: ${event.detail}` : ''}\n`);
      lastStage = event.stage;
      return;
    }
    const line = `${event.stage} ${event.done}/${event.total}${event.detail ? ` ${event.detail}` : ''}`;
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 80) - 1)}`);
      open = event.done < event.total;
      if (!open) process.stderr.write('\n');
    } else if (event.done === event.total || event.stage !== lastStage) {
      process.stderr.write(`${line}\n`);
      lastStage = event.stage;
    }
  };
}
