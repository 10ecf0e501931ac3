import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's calibration cache, shared by the files that calibrate the same real models (helpers/cli.ts sharedCache). */
    calibrationCache: string;
  }
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(REPO, 'dist');
/** Written after a build this setup ran, with the time the build started. */
const STAMP = join(DIST, '.test-build-stamp');

/** The newest modification time under `dir` (its folders included, so a deleted file counts), and its .ts/.tsx files. */
function scan(dir: string, sources: string[] = []): { newest: number; sources: string[] } {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, scan(path, sources).newest);
    else {
      newest = Math.max(newest, statSync(path).mtimeMs);
      if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) sources.push(path);
    }
  }
  return { newest, sources };
}

/**
 * Whether dist/ is current: a build by this setup began after the last change to src/, to the
 * TypeScript configuration, to package.json (its "type" decides the output) and to the compiler,
 * and every source file has its output.
 */
function distIsCurrent(): boolean {
  if (!existsSync(STAMP)) return false;
  const { newest, sources } = scan(join(REPO, 'src'));
  const inputs = [join(REPO, 'tsconfig.json'), join(REPO, 'package.json'), join(REPO, 'node_modules', 'typescript', 'package.json')];
  const changed = Math.max(newest, ...inputs.map((f) => statSync(f).mtimeMs));
  if (changed >= statSync(STAMP).mtimeMs) return false;
  return sources.every((s) => existsSync(join(DIST, s.slice(join(REPO, 'src').length + 1).replace(/\.tsx?$/, '.js'))));
}

/**
 * Brings dist/ up to date with src/, so tests that spawn the CLI run the current sources: nothing
 * when it is current (distIsCurrent), else an incremental tsc (its build information in dist/,
 * which a full build from scratch replaces), which type-checks and emits only what changed. A
 * type error fails the run, as a full tsc did. Then makes the run's shared calibration cache.
 */
export default function setup(project: TestProject): () => void {
  if (!distIsCurrent()) {
    const started = new Date();
    rmSync(STAMP, { force: true });
    execFileSync(
      process.execPath,
      [
        join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        join(REPO, 'tsconfig.json'),
        '--incremental',
        '--tsBuildInfoFile',
        join(DIST, '.tsbuildinfo'),
      ],
      { stdio: 'inherit' },
    );
    writeFileSync(STAMP, `${started.toISOString()}\n`);
    // The build's start, not its end: a source saved while tsc ran is newer than the stamp.
    utimesSync(STAMP, started, started);
  }
  const cache = mkdtempSync(join(tmpdir(), 'qs-run-cache-'));
  project.provide('calibrationCache', cache);
  return () => rmSync(cache, { recursive: true, force: true });
}
