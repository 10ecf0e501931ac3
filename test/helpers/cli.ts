import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

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
