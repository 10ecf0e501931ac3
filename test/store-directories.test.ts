import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectory } from '../src/store/directories.js';
import { REPO, runCli, tempDir } from './helpers/cli.js';

/**
 * Directories are made one level at a time (issue 14): Node's recursive mkdirSync never returned
 * for `--out /proc/1/nope` (100% CPU, deaf to SIGINT and SIGTERM); now it is one sentence at once.
 */
const PROC = existsSync('/proc/1');

describe('makeDirectory', () => {
  it('creates missing parents and accepts an existing directory', () => {
    const root = tempDir('qs-dirs-');
    const deep = join(root, 'a', 'b', 'c');
    makeDirectory(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(() => makeDirectory(deep)).not.toThrow();
  });

  it('refuses a path under a file, naming the level at fault', () => {
    const root = tempDir('qs-dirs-');
    writeFileSync(join(root, 'file'), 'x');
    expect(() => makeDirectory(join(root, 'file', 'sub'), 'Run directory')).toThrow(
      /^Run directory '.*file\/sub' cannot be created \(ENOTDIR\)\.$/,
    );
    expect(() => makeDirectory(join(root, 'file'))).toThrow(/exists and is not a directory/);
  });

  it.skipIf(!PROC)('fails at once where a recursive mkdir spins forever (/proc/1/nope)', () => {
    const started = Date.now();
    expect(() => makeDirectory('/proc/1/nope/deeper', 'Run directory')).toThrow(
      /^Run directory '\/proc\/1\/nope\/deeper' cannot be created at '\/proc\/1\/nope' \(ENOENT\)\.$/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.skipIf(!PROC)('run --out /proc/1/nope exits 2 with one sentence, within seconds', () => {
    const r = runCli(['run', join(REPO, 'models', 'demo-generator.onnx'), '--backend', 'float', '--out', '/proc/1/nope'], {
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(2);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('quantscope:')),
    ).toEqual(["quantscope: Run directory '/proc/1/nope' cannot be created (ENOENT)."]);
  });
});
