import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { DumpsBackend } from '../src/backends/dumps.js';
import { listDumpTensors, readDumpMap } from '../src/store/dump-files.js';
import { nameHash, tensorFileName } from '../src/store/file-names.js';
import { RunDir } from '../src/store/run-dir.js';
import { writeTensorFile } from '../src/store/tensor-file.js';

const root = mkdtempSync(join(tmpdir(), 'qs-dumps-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const t = (...values: number[]) => makeTensor('float32', [values.length], new Float32Array(values));
const put = (dir: string, rel: string, tensor: Tensor) => {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeTensorFile(join(dir, rel), tensor, { fsync: false });
};
const vals = (x: Tensor | undefined) => (x ? Array.from(x.data as Float32Array) : undefined);

describe('DumpsBackend over a device directory', () => {
  const dir = join(root, 'device');
  mkdirSync(dir);
  put(dir, 'conv1_out.npy', t(1));
  put(dir, 'conv1_out.txt', t(-1));
  put(dir, tensorFileName('a/b:0', '.npy'), t(2));
  put(dir, 'sub/deeper/plain_name.pb', t(3));
  put(dir, 'conv_block_conv.0.1690000000000000.npy', t(40));
  put(dir, 'conv_block_conv.0.1690000000000001.npy', t(4));
  put(dir, 'conv_block_conv.1.1690000000000001.npy', t(44));
  put(dir, 'Conv2D.layer2_relu.1.2.1690000000000005.output.0.npy', t(5));
  put(dir, 'dev/x.bin', makeTensor('uint8', [4], new Uint8Array([1, 2, 3, 4])));
  put(dir, 'x_y.npy', t(7));
  put(dir, '.hidden.npy', t(8));
  writeFileSync(join(dir, 'notes.md'), 'not a tensor');
  put(root, 'outside/linked_target.npy', t(6));
  symlinkSync(join(root, 'outside', 'linked_target.npy'), join(dir, 'linked.npy'));
  symlinkSync(dir, join(dir, 'loop'));

  const nodes: Record<string, { node: string; outputIndex: number }> = {
    conv_out: { node: 'conv/block/conv', outputIndex: 0 },
    conv_out1: { node: 'conv/block/conv', outputIndex: 1 },
    relu_out: { node: 'layer2/relu', outputIndex: 0 },
    nothing: { node: 'no/such', outputIndex: 0 },
  };
  const names = ['conv1_out', 'a/b:0', 'plain name', 'conv_out', 'conv_out1', 'relu_out', 'mapped', 'missing', 'x/y', 'x:y', 'nothing'];
  const open = () =>
    DumpsBackend.open(dir, {
      names,
      nodeOf: (n) => nodes[n],
      map: { mapped: { file: 'dev/x.bin', dtype: 'uint8', shape: [2, 2] }, conv1_out: 'x_y.npy' },
    });

  it.each([
    ['conv1_out', 'name', [1]],
    ['a/b:0', 'name', [2]],
    ['plain name', 'name', [3]],
    ['conv_out', 'ascend', [4]],
    ['conv_out1', 'ascend', [44]],
    ['relu_out', 'ascend', [5]],
    ['mapped', 'map', [1, 2, 3, 4]],
    ['linked', 'name', [6]],
  ])('%s is matched by %s', async (name, rule, expected) => {
    const backend = await open();
    expect(backend.matchOf(name)?.rule).toBe(rule);
    const out = await backend.run(new Map(), [name]);
    expect(Array.from(out.get(name)!.data as ArrayLike<number>)).toEqual(expected);
    await backend.dispose();
  });

  it('leaves unmatched and ambiguous names out of the result', async () => {
    const backend = await open();
    const out = await backend.run(new Map(), names);
    expect([...out.keys()].sort()).toEqual(['a/b:0', 'conv1_out', 'conv_out', 'conv_out1', 'mapped', 'plain name', 'relu_out']);
    expect(out.get('mapped')!.dims).toEqual([2, 2]);
    expect(backend.matchOf('x/y')).toBeUndefined();
    expect(backend.matchOf('x_y')?.rule).toBe('name');
  });

  it("matches a name standing for a hashed file name by that file's base, and only then", async () => {
    const base = tensorFileName('a/b:0');
    const bare = await DumpsBackend.open(dir, { names: ['a_b_0'] });
    expect(bare.matchOf('a_b_0')).toBeUndefined();
    const known = await DumpsBackend.open(dir, { names: ['a_b_0'], fileBases: new Map([['a_b_0', base]]) });
    expect(known.matchOf('a_b_0')?.rule).toBe('name');
    expect(vals((await known.run(new Map(), ['a_b_0'])).get('a_b_0'))).toEqual([2]);
  });

  it('returns the outputs option too', async () => {
    const backend = await DumpsBackend.open(dir, { names: [], outputs: ['conv1_out'] });
    expect([...(await backend.run(new Map(), [])).keys()]).toEqual(['conv1_out']);
  });

  it('lists the files with what their names say', () => {
    const list = listDumpTensors(dir);
    expect(list.map((f) => f.file)).not.toContain('.hidden.npy');
    expect(list.find((f) => f.file === 'conv_block_conv.0.1690000000000001.npy')).toMatchObject({
      tensor: null,
      node: 'conv_block_conv',
      outputIndex: 0,
      timestamp: '1690000000000001',
    });
    expect(list.find((f) => f.file === 'Conv2D.layer2_relu.1.2.1690000000000005.output.0.npy')).toMatchObject({
      node: 'layer2_relu',
      outputIndex: 0,
    });
    expect(list.find((f) => f.file === tensorFileName('a/b:0', '.npy'))).toMatchObject({
      tensor: 'a_b_0',
      exactName: false,
      hash: nameHash('a/b:0'),
    });
    expect(list.find((f) => f.file === 'conv1_out.txt')).toMatchObject({ tensor: 'conv1_out', format: 'txt' });
    expect(list.find((f) => f.file === 'dev/x.bin')).toMatchObject({ tensor: 'x', format: 'bin' });
  });

  it.each([
    ['missing directory', () => DumpsBackend.open(join(root, 'nope'), { names: [] }), /Dump directory '.*nope' does not exist/],
    [
      'map names a missing file',
      () => DumpsBackend.open(dir, { names: [], map: { a: 'gone.npy' } }),
      /gives file 'gone\.npy' for tensor 'a', but it does not exist/,
    ],
  ])('%s', async (_what, fn, message) => {
    await expect(fn()).rejects.toThrow(UserError);
    await expect(fn()).rejects.toThrow(message);
  });
});

describe('DumpsBackend over a quantscope run', () => {
  const dir = join(root, 'run');
  const run = RunDir.create(dir, { model: { path: 'm.onnx', sha256: 'x' }, inputs: [], fsync: false });
  run.writeTensor('float', 'conv1_out', t(1), { name: 'conv1', opType: 'Conv' });
  run.writeTensor('quant', 'conv1_out', t(1.5), { name: 'conv1', opType: 'Conv' });
  run.writeTensor('quant', 'only/quant', t(9));
  run.complete();
  put(dir, 'conv1_out.npy', t(100));
  put(dir, 'extra.npy', t(7));

  it.each([
    [undefined, 'quant', [1.5]],
    ['float', 'float', [1]],
    ['quant', 'quant', [1.5]],
  ] as const)('side %s reads the %s tensors from the manifest first', async (side, expectedSide, expected) => {
    const backend = await DumpsBackend.open(dir, { names: ['conv1_out'], side });
    expect(backend.side).toBe(expectedSide);
    expect(backend.matchOf('conv1_out')?.rule).toBe('manifest');
    expect(vals((await backend.run(new Map(), ['conv1_out'])).get('conv1_out'))).toEqual(expected);
  });

  it("falls back to file names for tensors the chosen side lacks, never to the other side's files", async () => {
    const backend = await DumpsBackend.open(dir, { names: ['only/quant', 'extra'], side: 'float' });
    expect(backend.matchOf('extra')?.rule).toBe('name');
    expect(backend.matchOf('only/quant')).toBeUndefined();
    const quant = await DumpsBackend.open(dir, { names: ['only/quant'], side: 'quant' });
    expect(quant.matchOf('only/quant')?.rule).toBe('manifest');
  });

  it.each([
    ['float', [1]],
    ['quant', [1.5]],
  ] as const)('reads its %s/ sub-directory with the manifest one level up', async (side, expected) => {
    const backend = await DumpsBackend.open(join(dir, side), { names: ['conv1_out', 'only/quant'] });
    expect(backend.side).toBe(side);
    expect(backend.manifest?.status).toBe('complete');
    expect(backend.matchOf('conv1_out')).toMatchObject({ rule: 'manifest', path: join(dir, side, tensorFileName('conv1_out', '.npy')) });
    expect(vals((await backend.run(new Map(), ['conv1_out'])).get('conv1_out'))).toEqual(expected);
    expect(backend.matchOf('only/quant')?.rule).toBe(side === 'quant' ? 'manifest' : undefined);
    const list = listDumpTensors(join(dir, side));
    expect(list.map((f) => [f.file, f.tensor, f.backend])).toEqual(
      side === 'float'
        ? [[tensorFileName('conv1_out', '.npy'), 'conv1_out', 'float']]
        : [
            [tensorFileName('conv1_out', '.npy'), 'conv1_out', 'quant'],
            [tensorFileName('only/quant', '.npy'), 'only/quant', 'quant'],
          ].sort(),
    );
  });

  it('lists manifest entries with their names', () => {
    const list = listDumpTensors(dir);
    expect(list.filter((f) => f.tensor === 'only/quant')).toMatchObject([
      { backend: 'quant', exactName: true, dtype: 'float32', shape: [1] },
    ]);
  });
});

describe('readDumpMap', () => {
  const write = (text: string) => {
    const file = join(root, `map-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(file, text);
    return file;
  };

  it('reads names to files and to {file, dtype, shape}', () => {
    const map = readDumpMap(write('{"a": "a.npy", "b": {"file": "b.bin", "dtype": "fp16", "shape": [2, 3]}}'));
    expect(map).toEqual({ a: 'a.npy', b: { file: 'b.bin', dtype: 'float16', shape: [2, 3] } });
  });

  it.each([
    ['not JSON', '{', /cannot be read as JSON/],
    ['an array', '[]', /is not a JSON object/],
    ['a number entry', '{"a": 3}', /bad entry for 'a': expected a file name/],
    ['no file', '{"a": {"dtype": "float32"}}', /'file' is not a string/],
    ['bad dtype', '{"a": {"file": "a.bin", "dtype": "float31"}}', /'float31' is not a dtype/],
    ['bad shape', '{"a": {"file": "a.bin", "shape": [1, -1]}}', /'shape' is not an array of non-negative integers/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => readDumpMap(write(text))).toThrow(message);
  });
});
