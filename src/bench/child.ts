import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nowMs } from './figures.js';

/**
 * Child processes with their wall time and peak resident set size. The peak comes from GNU time
 * (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child) when it is installed, else from a
 * preloaded module that writes `process.resourceUsage().maxRSS` when the child exits.
 */

const GNU_TIME = '/usr/bin/time';
const PROBE = join(import.meta.dirname, 'rss-probe.js');

export interface ChildResult {
  readonly code: number;
  readonly ms: number;
  /** Peak RSS in bytes; null when it could not be read. */
  readonly maxRss: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly via: 'gnu-time' | 'probe';
}

export function peakRssMethod(): 'gnu-time' | 'probe' {
  return existsSync(GNU_TIME) ? 'gnu-time' : 'probe';
}

/** Runs `node <args>` (a script and its arguments) and measures it. */
export async function runNode(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ChildResult> {
  const dir = mkdtempSync(join(tmpdir(), 'qs-bench-rss-'));
  const rssFile = join(dir, 'maxrss');
  const via = peakRssMethod();
  const [command, argv] =
    via === 'gnu-time'
      ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]]
      : [process.execPath, ['--import', PROBE, ...args]];
  const env = { ...process.env, ...options.env, ...(via === 'probe' ? { QS_BENCH_RSS_FILE: rssFile } : {}) };
  const start = nowMs();
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(command, argv, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const timer = options.timeoutMs === undefined ? null : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
      child.on('error', reject);
      child.on('close', (c, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code: c ?? (signal ? 128 : -1), stdout: out, stderr: err });
      });
    });
    const ms = nowMs() - start;
    return { code, ms, maxRss: readRss(rssFile), stdout, stderr, via };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both methods write kilobytes. GNU time may add a line about a non-zero exit first: take the last number. */
function readRss(file: string): number | null {
  if (!existsSync(file)) return null;
  const numbers = readFileSync(file, 'utf8')
    .trim()
    .split(/\s+/)
    .filter((w) => /^\d+$/.test(w));
  const kb = numbers.length > 0 ? Number(numbers[numbers.length - 1]) : Number.NaN;
  return Number.isFinite(kb) ? kb * 1024 : null;
}

/** The last lines of a child's stderr, for a failure message. */
export function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
