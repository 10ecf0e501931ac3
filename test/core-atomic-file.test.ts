import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { tempFileOwner, writeFileAtomic } from '../src/core/atomic-file.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { emitPaths, stageEmitModel, type EmitManifest, type EmitQuantFile } from '../src/store/emit-files.js';
import { writePlanFile } from '../src/store/plan-file.js';

/**
 * Every writer goes through core/atomic-file.ts: the file is flushed before it is renamed into
 * place, and a write interrupted before the rename leaves only a temporary name that the cleanup
 * (staleTempFiles, by tempFileOwner) recognises. node:fs is wrapped so a test can watch the calls,
 * fail the rename, and keep the temporary file as a killed process would.
 */

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return {
    ...actual,
    openSync: vi.fn(actual.openSync),
    fsyncSync: vi.fn(actual.fsyncSync),
    renameSync: vi.fn(actual.renameSync),
    rmSync: vi.fn(actual.rmSync),
  };
});

const actualFs = await vi.importActual<typeof import('node:fs')>('node:fs');
const root = fs.mkdtempSync(join(tmpdir(), 'qs-atomic-writers-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.clearAllMocks());

const model = createModel({
  name: 'tiny',
  opsets: { '': 13 },
  inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [2] }],
  nodes: [{ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
  initializers: [],
});
const quant = {
  schemaVersion: 1,
  model: 'm.onnx',
  profile: 'p',
  qdqDomain: '',
  calibrationId: 'c',
  tensors: [],
  nodes: [],
} as EmitQuantFile;
const manifest = { schemaVersion: 1, notes: [] } as unknown as EmitManifest;

/** A writer under test: writes `file` (a name whose extension it needs) and returns every path it means to create. */
type Writer = (file: string) => string[];

const writers: [string, string, Writer][] = [
  ['writeModel', '.onnx', (file) => (writeModel(model, file), [file])],
  ['writePlanFile', '.plan.json', (file) => (writePlanFile(file, { profile: 'generic-int8', overrides: [['*', 'int16']] }), [file])],
  ['writeFileAtomic (store/ and app/ writers)', '.json', (file) => (writeFileAtomic(file, '{}\n'), [file])],
  [
    'stageEmitModel and commit',
    '.onnx',
    (file) => {
      const paths = emitPaths(file);
      stageEmitModel(paths, Uint8Array.of(1, 2, 3)).commit(quant, manifest);
      return [paths.model, paths.quant, paths.manifest];
    },
  ],
];

// A line break in the target's name must not hide its temporary file from the cleanup.
const names = ['plain', 'line\nbreak'];

let dirCount = 0;
function freshDir(): string {
  const dir = join(root, `d${dirCount++}`);
  fs.mkdirSync(dir);
  return dir;
}

const openSync = vi.mocked(fs.openSync);
const fsyncSync = vi.mocked(fs.fsyncSync);
const renameSync = vi.mocked(fs.renameSync);
const rmSync = vi.mocked(fs.rmSync);

/** Every fsyncSync call as the path whose descriptor it flushed (descriptor numbers are reused) and its call order. */
function flushes(): { path: string; order: number }[] {
  const opens = openSync.mock.calls.map((call, i) => ({
    path: String(call[0]),
    fd: openSync.mock.results[i].value as number,
    order: openSync.mock.invocationCallOrder[i],
  }));
  return fsyncSync.mock.calls.map(([fd], i) => {
    const order = fsyncSync.mock.invocationCallOrder[i];
    const open = opens.filter((o) => o.fd === fd && o.order < order).at(-1);
    return { path: open?.path ?? '', order };
  });
}

describe.each(writers)('%s', (_what, extension, write) => {
  it.each(names)('flushes each file under a temporary name, then renames it into place (%j)', (stem) => {
    const dir = freshDir();
    const targets = write(join(dir, `${stem}${extension}`));
    const synced = flushes();
    expect(renameSync.mock.calls.map(([, to]) => String(to)).sort()).toEqual([...targets].sort());
    for (const [from, to] of renameSync.mock.calls) {
      const temp = String(from);
      expect(join(dir, basename(temp))).toBe(temp);
      expect(tempFileOwner(basename(temp))).toBe(process.pid);
      expect(basename(temp).startsWith(`.${basename(String(to))}.tmp-`)).toBe(true);
      const flushed = synced.find((f) => f.path === temp);
      expect(flushed, `${temp} was not flushed`).toBeDefined();
      const renamed = renameSync.mock.invocationCallOrder[renameSync.mock.calls.findIndex(([f]) => String(f) === temp)];
      expect(flushed?.order).toBeLessThan(renamed);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(targets.map((t) => basename(t)).sort());
  });

  it.each(names)('interrupted before the rename, leaves only temporary names the cleanup recognises (%j)', (stem) => {
    const dir = freshDir();
    renameSync.mockImplementationOnce(() => {
      throw new Error('interrupted');
    });
    // A killed process removes nothing: keep every temporary file.
    rmSync.mockImplementation(() => undefined);
    try {
      expect(() => write(join(dir, `${stem}${extension}`))).toThrow(/interrupted/);
    } finally {
      rmSync.mockImplementation(actualFs.rmSync);
    }
    const left = fs.readdirSync(dir);
    expect(left.length).toBeGreaterThan(0);
    for (const name of left) expect(tempFileOwner(name), `${JSON.stringify(name)} is not a temporary name`).toBe(process.pid);
  });
});
