import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';

/**
 * Rules of the source tree that the compiler cannot see (DESIGN.md §3): store/ owns everything on
 * disk, so app/ (and ui/, whose components touch no files) never import node:fs; and every file is
 * written by the one atomic writer, core/atomic-file.ts, so there is one temporary-name pattern
 * and the cleanup knows it. Its module comment names the one exception, bench/rss-probe.ts.
 */

const SRC = join(REPO, 'src');

/** Every .ts/.tsx file under src/, relative to src/ with '/' separators, and its text without comments. */
function sources(): { file: string; code: string }[] {
  const out: { file: string; code: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.tsx?$/.test(entry.name)) {
        const text = readFileSync(full, 'utf8');
        const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
        out.push({ file: relative(SRC, full).split('\\').join('/'), code });
      }
    }
  };
  walk(SRC);
  return out;
}

const FS_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"](?:node:)?fs(?:\/promises)?['"]/;

/** Calls that write a file or put one in place, synchronous or through fs/promises. */
const FILE_WRITE =
  /\b(?:renameSync|writeFileSync|appendFileSync|copyFileSync|cpSync|writeSync|createWriteStream|truncateSync|ftruncateSync)\b|\.(?:rename|writeFile|appendFile|copyFile|cp|truncate)\s*\(/g;

const ATOMIC_WRITER = 'core/atomic-file.ts';

/** Files other than the atomic writer allowed to write, and what they may use (see core/atomic-file.ts). */
const ALLOWED_WRITES: Readonly<Record<string, readonly string[]>> = {
  'bench/rss-probe.ts': ['writeFileSync'],
};

/**
 * Product files outside store/ that may import node:fs, and why. Reading a file is store/'s job
 * (quant/, analysis/ and onnx/ are functions of their arguments); these are the exceptions.
 */
const FS_EXCEPTIONS: Readonly<Record<string, string>> = {
  'onnx/external-data.ts':
    "reads a tensor's external data when the tensor is decoded, lazily and long after the model file was read; onnx/ sits below store/ and cannot call it",
  'backends/ort-remote.ts': 'looks for its own compiled worker script (beside it, or in dist/ under a TypeScript runner)',
};

/** The tools (benchmark, model generator), which are not part of the product (tsconfig.tools.json). */
const TOOLS = /^(bench|scripts)\//;

describe('source rules', () => {
  const all = sources();

  it('finds the sources', () => {
    expect(all.some((s) => s.file === ATOMIC_WRITER)).toBe(true);
    expect(all.filter((s) => s.file.startsWith('app/')).length).toBeGreaterThan(10);
  });

  it('src/present imports app/ only for the types of its results, and nothing of store/, backends/, cli/ or ui/', () => {
    const present = all.filter((s) => s.file.startsWith('present/'));
    expect(present.length).toBeGreaterThan(0);
    const offenders = present.flatMap(({ file, code }) =>
      [...code.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'\.\.\/(app|store|backends|cli|ui)\/[^']*'/gm)]
        .filter((m) => m[2] !== 'app' || m[1] === undefined)
        .map((m) => `${file}: ${m[0]}`),
    );
    expect(offenders).toEqual([]);
  });

  it('onnxruntime-node is imported only in src/backends, ink and React only in src/ui', () => {
    const importing = (pkg: string) =>
      all.filter((s) => new RegExp(`(?:\\bfrom\\s*|\\bimport\\s*\\(\\s*)['"]${pkg}(?:/[^'"]*)?['"]`).test(s.code)).map((s) => s.file);
    const ort = importing('onnxruntime-node');
    expect(ort.length).toBeGreaterThan(0);
    expect(ort.filter((f) => !f.startsWith('backends/'))).toEqual([]);
    const ink = [...importing('ink'), ...importing('react')];
    expect(ink.length).toBeGreaterThan(0);
    expect(ink.filter((f) => !f.startsWith('ui/'))).toEqual([]);
  });

  it('no file under src/app or src/ui imports node:fs', () => {
    const offenders = all.filter((s) => /^(app|ui)\//.test(s.file) && FS_IMPORT.test(s.code)).map((s) => s.file);
    expect(offenders).toEqual([]);
  });

  it('node:fs is imported only in src/store, the atomic writer and the exceptions listed with their reason', () => {
    const allowed = (file: string): boolean =>
      file.startsWith('store/') || file === ATOMIC_WRITER || file in FS_EXCEPTIONS || TOOLS.test(file);
    const importing = all.filter((s) => FS_IMPORT.test(s.code)).map((s) => s.file);
    expect(importing.filter((f) => !allowed(f))).toEqual([]);
    // Every listed exception still needs its exception.
    expect(Object.keys(FS_EXCEPTIONS).filter((f) => !importing.includes(f))).toEqual([]);
  });

  it('only the atomic writer writes or renames files', () => {
    const offenders: string[] = [];
    for (const { file, code } of all) {
      if (file === ATOMIC_WRITER) continue;
      const allowed = ALLOWED_WRITES[file] ?? [];
      for (const m of code.matchAll(FILE_WRITE)) {
        const call = m[0].replace(/^\.|\s*\($/g, '');
        if (!allowed.includes(call)) offenders.push(`${file}: ${m[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('only the atomic writer makes temporary names', () => {
    const offenders = all.filter((s) => s.file !== ATOMIC_WRITER && s.code.includes('.tmp-')).map((s) => s.file);
    expect(offenders).toEqual([]);
  });

  it('catches what it is meant to catch', () => {
    expect(FS_IMPORT.test("import { existsSync } from 'node:fs';")).toBe(true);
    expect(FS_IMPORT.test("import * as fsp from 'node:fs/promises';")).toBe(true);
    expect(FS_IMPORT.test("const fs = await import('fs');")).toBe(true);
    expect(FS_IMPORT.test("import { join } from 'node:path';")).toBe(false);
    const calls = (code: string): string[] => [...code.matchAll(FILE_WRITE)].map((m) => m[0]);
    expect(calls('fs.renameSync(a, b); writeFileSync(f, t); await fsp.rename(a, b); await handle.writeFile(x);')).toEqual([
      'renameSync',
      'writeFileSync',
      '.rename(',
      '.writeFile(',
    ]);
    expect(calls('renameTensors(model, map); process.stdout.write(text); writeFileAtomic(f, t);')).toEqual([]);
  });
});
