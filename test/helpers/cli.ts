import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, inject } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = resolve(REPO, '..', 'shared');
export const HAS_SHARED = existsSync(join(SHARED, 'models', 'udnie.onnx'));
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (built by the global setup) and returns its exit code and output. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, QUANTSCOPE_CACHE: options.env?.QUANTSCOPE_CACHE ?? mkdtempSync(join(tmpdir(), 'qs-cache-')), ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The in-process runs, one at a time: each takes over stdout, stderr, the working directory and the environment. */
let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs a command in this process, through the CLI's own entry (src/cli/cli.ts runCli, which
 * bin's main.js calls), and returns what runCli above returns from a child process: the exit code
 * and everything written to stdout and stderr. For tests of what a command computes, prints and
 * exits with; what needs a process of its own (signals, exit by a signal, peak memory, start-up,
 * `--help` and `--version`, which end the process) spawns with runCli.
 *
 * As in the child: stdout, stderr and stdin are not terminals, `cwd` (default the repository) is
 * the working directory and `env` is added to the environment, with QUANTSCOPE_CACHE a fresh
 * folder unless given; all of it is put back afterwards. Timers a command leaves repeating (a
 * progress line's) are stopped, as the child's exit would. A process.exit during the run throws.
 */
export function runCliInProcess(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const run = inProcessQueue.then(() => inProcess(args, options));
  inProcessQueue = run.catch(() => undefined);
  return run;
}

async function inProcess(args: readonly string[], options: { cwd?: string; env?: Record<string, string> }): Promise<CliResult> {
  const { runCli: cli } = await import('../../src/cli/cli.js');
  const env: Record<string, string> = { QUANTSCOPE_CACHE: mkdtempSync(join(tmpdir(), 'qs-cache-')), ...options.env };
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const cwd = process.cwd();
  const streams = [process.stdout, process.stderr, process.stdin] as const;
  const tty = streams.map((s) => Object.getOwnPropertyDescriptor(s, 'isTTY'));
  const writes = [process.stdout.write, process.stderr.write] as const;
  const exit = process.exit;
  const timers = new Set<NodeJS.Timeout>();
  const { setInterval: realSetInterval } = globalThis;
  let stdout = '';
  let stderr = '';
  const capture =
    (append: (text: string) => void) =>
    (
      chunk: string | Uint8Array,
      encoding?: BufferEncoding | ((error?: Error | null) => void),
      callback?: (error?: Error | null) => void,
    ) => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) queueMicrotask(() => done(null));
      return true;
    };
  try {
    Object.assign(process.env, env);
    process.chdir(options.cwd ?? REPO);
    for (const s of streams) Object.defineProperty(s, 'isTTY', { value: false, configurable: true, writable: true });
    process.stdout.write = capture((t) => (stdout += t)) as typeof process.stdout.write;
    process.stderr.write = capture((t) => (stderr += t)) as typeof process.stderr.write;
    process.exit = ((code?: number) => {
      throw new Error(`process.exit(${code ?? ''}) during an in-process run of quantscope ${args.join(' ')}`);
    }) as typeof process.exit;
    globalThis.setInterval = ((...a: Parameters<typeof setInterval>) => {
      const timer = realSetInterval(...a);
      timers.add(timer);
      return timer;
    }) as typeof setInterval;
    const code = await cli(args);
    return { code, stdout, stderr };
  } finally {
    globalThis.setInterval = realSetInterval;
    for (const timer of timers) clearInterval(timer);
    process.exit = exit;
    [process.stdout.write, process.stderr.write] = writes;
    streams.forEach((s, i) => {
      const descriptor = tty[i];
      if (descriptor) Object.defineProperty(s, 'isTTY', descriptor);
      else delete (s as { isTTY?: boolean }).isTTY;
    });
    process.chdir(cwd);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export function tempDir(prefix = 'qs-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A calibration cache of the test file's own: a temporary folder whose `cache` subfolder is
 * QUANTSCOPE_CACHE for the file's tests (set before them, restored and removed after).
 * Returns the folder.
 */
export function isolatedCache(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const previous = process.env.QUANTSCOPE_CACHE;
  beforeAll(() => {
    process.env.QUANTSCOPE_CACHE = join(dir, 'cache');
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.QUANTSCOPE_CACHE;
    else process.env.QUANTSCOPE_CACHE = previous;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * The calibration cache of the whole run (made by the global setup), for the files that calibrate
 * the same real models on the same photos: a calibration is keyed by the sha256 of the model and
 * of every input tensor, the method and the profile, so a table one file wrote is the one another
 * would compute. Files whose tests look at what the cache holds or reuses use isolatedCache.
 * Outside a run with the global setup, a cache of the run's own.
 */
export function runCache(): string {
  return inject('calibrationCache') ?? mkdtempSync(join(tmpdir(), 'qs-run-cache-'));
}

/**
 * Like isolatedCache, a temporary folder of the test file's own (returned, removed after), but
 * with QUANTSCOPE_CACHE the run's shared cache (runCache) for the file's tests.
 */
export function sharedCache(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const previous = process.env.QUANTSCOPE_CACHE;
  beforeAll(() => {
    process.env.QUANTSCOPE_CACHE = runCache();
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.QUANTSCOPE_CACHE;
    else process.env.QUANTSCOPE_CACHE = previous;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
