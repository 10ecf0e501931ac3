import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InternalError, UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import {
  defaultRunId,
  readManifest,
  serializeManifest,
  sha256OfFile,
  sha256OfTensor,
  toolVersion,
  type RunManifest,
} from '../src/store/manifest.js';
import { readRunTensor, RunDir, type RunInit } from '../src/store/run-dir.js';
import { HOSTILE_NAMES } from './store-hostile-names.js';

const root = mkdtempSync(join(tmpdir(), 'qs-run-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
const fresh = () => join(root, `run-${counter++}`);

const init: RunInit = {
  model: { path: 'models/m.onnx', sha256: 'ab'.repeat(32) },
  inputs: [{ name: 'x', source: 'x.npy', sha256: 'cd'.repeat(32), shape: [1, 3], dtype: 'float32' }],
  profile: 'generic-int8',
  taps: ['t1'],
  fsync: false,
  createdAt: new Date('2024-05-06T07:08:09Z'),
};

const t = (values: number[]) => makeTensor('float32', [values.length], new Float32Array(values));
const onDisk = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as RunManifest;

describe('RunDir', () => {
  it('writes an incomplete manifest at once, tensors, then complete', () => {
    const dir = fresh();
    const run = RunDir.create(dir, { ...init, manifestIntervalMs: 0 });
    let m = onDisk(dir);
    expect(m).toMatchObject({
      schemaVersion: 1,
      status: 'incomplete',
      tool: { name: 'quantscope', version: toolVersion() },
      createdAt: '2024-05-06T07:08:09.000Z',
      taps: ['t1'],
      tensors: [],
    });
    const entry = run.writeTensor('float', 'conv/out', t([1, 2]), { name: 'conv', opType: 'Conv' });
    run.writeTensor('quant', 'conv/out', t([1, 2.5]), { name: 'conv', opType: 'Conv' });
    expect(entry).toEqual({
      name: 'conv/out',
      backend: 'float',
      file: entry.file,
      shape: [2],
      dtype: 'float32',
      node: 'conv',
      opType: 'Conv',
    });
    expect(entry.file).toMatch(/^float\/conv_out-[0-9a-f]{8}\.npy$/);
    m = onDisk(dir);
    expect(m.status).toBe('incomplete');
    expect(m.tensors).toHaveLength(2);
    run.update({ taps: ['t1', 't2'], plan: { conv: 'int16' } });
    run.complete();
    const read = readManifest(dir);
    expect(read.status).toBe('complete');
    expect(read.taps).toEqual(['t1', 't2']);
    expect(read.plan).toEqual({ conv: 'int16' });
    expect(Array.from(readRunTensor(dir, read.tensors[1]).data as ArrayLike<number>)).toEqual([1, 2.5]);
    expect(() => run.writeTensor('float', 'late', t([1]))).toThrow(InternalError);
  });

  it('batches manifest rewrites but flush() and complete() always write', () => {
    const dir = fresh();
    const run = RunDir.create(dir, { ...init, manifestIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) run.writeTensor('float', `t${i}`, t([i]));
    expect(onDisk(dir).tensors).toHaveLength(0);
    expect(run.manifest.tensors).toHaveLength(5);
    run.flush();
    expect(onDisk(dir).tensors).toHaveLength(5);
    expect(onDisk(dir).status).toBe('incomplete');
    run.writeTensor('float', 't0', t([9]));
    run.complete();
    expect(onDisk(dir).tensors).toHaveLength(5);
    expect(
      Array.from(
        readRunTensor(
          dir,
          readManifest(dir).tensors.find((e) => e.name === 't0')!,
        ).data as ArrayLike<number>,
      ),
    ).toEqual([9]);
  });

  it('writes dtypes numpy lacks as .pb', () => {
    const dir = fresh();
    const run = RunDir.create(dir, init);
    const e = run.writeTensor('quant', 'b', makeTensor('bfloat16', [1], new Uint16Array([0x3f80])));
    run.complete();
    expect(e.file).toMatch(/\.pb$/);
    expect(Array.from(readRunTensor(dir, e).data as ArrayLike<number>)).toEqual([0x3f80]);
  });

  it('reports a file that cannot be written as a UserError naming it', () => {
    const dir = fresh();
    const run = RunDir.create(dir, init);
    rmSync(join(dir, 'quant'), { recursive: true });
    expect(() => run.writeTensor('quant', 'q', t([1]))).toThrow(/File '.*quant.*q-[0-9a-f]{8}\.npy' cannot be written \(ENOENT\)/);
    expect(readManifest(dir).tensors).toEqual([]);
  });

  it('refuses a directory that already holds a run', () => {
    const dir = fresh();
    RunDir.create(dir, init);
    expect(() => RunDir.create(dir, init)).toThrow(/already holds a run/);
  });

  it('keeps every hostile tensor name inside the run directory', () => {
    const dir = fresh();
    const run = RunDir.create(dir, init);
    HOSTILE_NAMES.forEach((name, i) => run.writeTensor('float', name, t([i])));
    run.complete();
    const files = readdirSync(join(dir, 'float'));
    expect(files).toHaveLength(HOSTILE_NAMES.length);
    expect(readdirSync(dir).sort()).toEqual(['float', 'manifest.json', 'quant']);
    expect(readdirSync(root).every((n) => n.startsWith('run-'))).toBe(true);
    const m = readManifest(dir);
    HOSTILE_NAMES.forEach((name, i) => {
      const e = m.tensors.find((x) => x.name === name)!;
      expect(e, JSON.stringify(name).slice(0, 30)).toBeDefined();
      expect(resolve(dir, e.file).startsWith(resolve(dir, 'float') + sep)).toBe(true);
      expect(Array.from(readRunTensor(dir, e).data as ArrayLike<number>)).toEqual([i]);
    });
  });
});

describe('readManifest', () => {
  const good = (): Record<string, unknown> =>
    JSON.parse(
      serializeManifest({
        schemaVersion: 1,
        status: 'complete',
        tool: { name: 'quantscope', version: '1.0.0' },
        createdAt: 'now',
        model: { path: 'm.onnx', sha256: 'x' },
        inputs: [],
        taps: [],
        tensors: [{ name: 'a', backend: 'float', file: 'float/a.npy', shape: [1], dtype: 'float32', node: null, opType: null }],
      }),
    ) as Record<string, unknown>;
  const write = (value: unknown): string => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), typeof value === 'string' ? value : JSON.stringify(value));
    return dir;
  };
  const tensorsWith = (patch: Record<string, unknown>) => {
    const m = good();
    m.tensors = [{ ...(m.tensors as object[])[0], ...patch }];
    return m;
  };

  it('reads a valid manifest, with a dir or the file path', () => {
    const dir = write(good());
    expect(readManifest(dir).tensors[0].name).toBe('a');
    expect(readManifest(join(dir, 'manifest.json')).profile).toBeNull();
  });

  it.each([
    ['not JSON', '{"schemaVersion": 1,', /is not valid JSON/],
    ['not an object', '[1]', /bad field manifest \(expected an object\)/],
    ['newer schema', { ...good(), schemaVersion: 2 }, /newer quantscope \(manifest schema 2\)/],
    ['bad schema', { ...good(), schemaVersion: 'one' }, /bad field schemaVersion/],
    ['bad status', { ...good(), status: 'done' }, /bad field status \(expected 'complete' or 'incomplete'\)/],
    ['bad tool', { ...good(), tool: { name: 'other', version: '1' } }, /bad field tool\.name/],
    ['missing model', { ...good(), model: undefined }, /bad field model \(expected an object\)/],
    ['bad taps', { ...good(), taps: ['a', 3] }, /bad field taps\[1\] \(expected a string\)/],
    ['bad shape', tensorsWith({ shape: [1, -2] }), /bad field tensors\[0\]\.shape \(expected an array of non-negative integers\)/],
    ['bad dtype', tensorsWith({ dtype: 'float31' }), /bad field tensors\[0\]\.dtype/],
    ['bad backend', tensorsWith({ backend: 'gpu' }), /bad field tensors\[0\]\.backend/],
    [
      'escaping file',
      tensorsWith({ file: '../../etc/passwd' }),
      /bad field tensors\[0\]\.file \(expected a path inside the run directory\)/,
    ],
    ['absolute file', tensorsWith({ file: '/etc/passwd' }), /tensors\[0\]\.file/],
    ['bad input', { ...good(), inputs: [{ name: 'x' }] }, /bad field inputs\[0\]\.source/],
  ])('%s -> UserError naming file and field', (_what, value, message) => {
    const dir = write(value);
    let caught: unknown;
    try {
      readManifest(dir);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as Error).message).toContain(join(dir, 'manifest.json'));
    expect((caught as Error).message).toMatch(message);
  });

  it('names a missing manifest', () => {
    expect(() => readManifest(join(root, 'nowhere'))).toThrow(/manifest\.json' cannot be read \(ENOENT\)/);
  });
});

describe('helpers', () => {
  it.each([
    ['models/udnie.onnx', new Date(2024, 0, 2, 3, 4, 5), 'udnie-20240102-030405'],
    ['/x/My Model.ONNX', new Date(2023, 11, 31, 23, 59, 59), 'My_Model-20231231-235959'],
    ['../a/b/../../.onnx', new Date(2020, 1, 29, 0, 0, 0), '_-20200229-000000'],
  ])('defaultRunId(%j)', (model, date, expected) => {
    expect(defaultRunId(model, date)).toBe(expected);
  });

  it('hashes files and tensors', () => {
    const file = join(root, 'h.bin');
    writeFileSync(file, 'abc');
    expect(sha256OfFile(file)).toBe(createHash('sha256').update('abc').digest('hex'));
    const a = sha256OfTensor(t([1, 2]));
    expect(sha256OfTensor(t([1, 2]))).toBe(a);
    expect(sha256OfTensor(t([1, 3]))).not.toBe(a);
    expect(sha256OfTensor(makeTensor('float32', [2, 1], new Float32Array([1, 2])))).not.toBe(a);
    expect(() => sha256OfFile(join(root, 'missing'))).toThrow(UserError);
  });
});
