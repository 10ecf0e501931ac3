import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareModel } from '../src/app/compare.js';
import { compareDumps } from '../src/app/compare-dumps.js';
import { openModel } from '../src/app/context.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { writeTensorFile } from '../src/store/tensor-file.js';
import { isolatedCache } from './helpers/cli.js';

const root = isolatedCache('qs-compare-dumps-');

const f32 = (dims: number[], fill: (i: number) => number): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return makeTensor('float32', dims, Float32Array.from({ length: n }, (_, i) => fill(i)));
};
const put = (dir: string, file: string, t: Tensor) => {
  mkdirSync(join(dir, file, '..'), { recursive: true });
  writeTensorFile(join(dir, file), t, { fsync: false });
};

const TENSORS: Record<string, Tensor> = {
  conv1: f32([1, 2, 3, 3], (i) => Math.sin(i) * 3.7),
  relu1: f32([1, 2, 3, 3], (i) => Math.max(0, Math.cos(i * 1.3)) / 7),
  pool: f32([1, 2], (i) => 1e-7 * (i + 1)),
  logits: f32([1, 4], (i) => -2.5 + i * 1e3),
  ids: makeTensor('int64', [3], BigInt64Array.of(7n, -1n, 1n << 40n)),
  mask: makeTensor('uint8', [2, 2], Uint8Array.of(0, 255, 1, 128)),
};

describe('dump directories of the same tensors in different formats', () => {
  const npy = join(root, 'npy');
  const mixed = join(root, 'mixed');
  beforeAll(() => {
    for (const [name, t] of Object.entries(TENSORS)) put(npy, `${name}.npy`, t);
    put(mixed, 'conv1.pb', TENSORS.conv1);
    put(mixed, 'relu1.bin', TENSORS.relu1);
    put(mixed, 'pool.txt', TENSORS.pool);
    put(mixed, 'logits.txt', TENSORS.logits);
    put(mixed, 'ids.txt', TENSORS.ids);
    put(mixed, 'raw/mask_dump.bin', TENSORS.mask);
    writeFileSync(join(root, 'map.json'), JSON.stringify({ mask: { file: 'raw/mask_dump.bin', dtype: 'uint8', shape: [2, 2] } }));
  });

  it('report exact equality for every tensor, .npy against .pb, .bin and text', async () => {
    const { report, gatePasses } = await compareDumps({ refDir: npy, testDir: mixed, mapFile: join(root, 'map.json') });
    expect(report.rows.map((r) => r.tensor)).toEqual(['conv1', 'ids', 'logits', 'mask', 'pool', 'relu1']);
    for (const row of report.rows) {
      expect(row.error, row.tensor).toBeUndefined();
      expect(row.metrics?.snrDb, row.tensor).toBe(Infinity);
      expect(row.metrics?.maxAbs, row.tensor).toBe(0);
      expect(row.pass).toBe(true);
    }
    expect(report.rows.find((r) => r.tensor === 'relu1')?.shape).toEqual([1, 2, 3, 3]);
    expect(gatePasses).toBe(true);
    // And the other way round: the raw and text files take their dtype and shape from the .npy side.
    const back = await compareDumps({ refDir: mixed, testDir: npy, mapFile: join(root, 'map.json') });
    expect(back.report.rows.every((r) => r.pass && r.metrics?.maxAbs === 0)).toBe(true);
  });
});

describe('bad dump directories', () => {
  const ref = join(root, 'bad-ref');
  const test = join(root, 'bad-test');
  beforeAll(() => {
    for (const [name, t] of Object.entries(TENSORS)) put(ref, `${name}.npy`, t);
    put(test, 'conv1.npy', TENSORS.conv1);
    // relu1 is missing; pool has another size; logits gets a NaN; ids is truncated; mask is fine.
    put(test, 'pool.npy', f32([1, 3], () => 0));
    put(test, 'logits.npy', f32([1, 4], (i) => (i === 2 ? Number.NaN : -2.5 + i * 1e3)));
    writeFileSync(join(test, 'ids.npy'), Buffer.from('\x93NUMPY\x01\x00v\x00{'));
    put(test, 'mask.npy', TENSORS.mask);
    put(test, 'extra_only_in_test.npy', f32([2], () => 1));
  });

  it('report each problem in its tensor\'s row and go on with the rest', async () => {
    const { report, gatePasses } = await compareDumps({ refDir: ref, testDir: test });
    const rows = Object.fromEntries(report.rows.map((r) => [r.tensor, r]));
    expect(Object.keys(rows)).toEqual(['conv1', 'ids', 'logits', 'mask', 'pool', 'relu1', 'extra_only_in_test']);
    expect(rows.conv1.pass).toBe(true);
    expect(rows.mask.pass).toBe(true);
    expect(rows.relu1.error).toMatch(/No file holds it in the test directory/);
    expect(rows.extra_only_in_test.error).toMatch(/No file holds it in the reference directory/);
    expect(rows.pool.error).toMatch(/Shapes differ: reference \[1,2\] has 2 elements, test \[1,3\] has 3/);
    expect(rows.ids.error).toMatch(/ids\.npy/);
    expect(rows.logits.metrics?.nonFiniteIntroduced).toBe(1);
    expect(rows.logits.pass).toBe(false);
    expect(report.firstFailing).toBe('ids');
    expect(gatePasses).toBe(false);
  });

  it('refuse a missing directory and a map entry that neither directory holds', async () => {
    await expect(compareDumps({ refDir: join(root, 'nowhere'), testDir: test })).rejects.toThrow(/--ref directory .*nowhere' does not exist/);
    writeFileSync(join(root, 'bad-map.json'), JSON.stringify({ relu1: 'no-such-file.bin' }));
    await expect(compareDumps({ refDir: ref, testDir: test, mapFile: join(root, 'bad-map.json') })).rejects.toThrow(UserError);
    await expect(compareDumps({ refDir: ref, testDir: test, taps: ['conv1'] })).rejects.toThrow(/--taps selects tensors of a model/);
  });
});

describe('dump directories with a model', () => {
  it('compare a quantscope run\'s float side against its quant side exactly as compare did, in topological order', async () => {
    const ctx = await openModel({ modelPath: 'fixtures/planted-source.onnx' });
    const quant = await setUpQuant(ctx, {});
    const outDir = join(root, 'run');
    const run = await compareModel({ ctx, quant, outDir, own: false, achievable: false });
    const { report } = await compareDumps({ refDir: outDir, testDir: outDir, modelPath: 'fixtures/planted-source.onnx' });
    expect(report.rows.map((r) => [r.tensor, r.node, r.opType, r.index])).toEqual(run.report.rows.map((r) => [r.tensor, r.node, r.opType, r.index]));
    expect(report.rows.map((r) => r.metrics?.cosine)).toEqual(run.report.rows.map((r) => r.metrics?.cosine));
    expect(report.outputs).toEqual(['y']);
    expect(report.firstFailing).toBe('planted_source_out');

    // Without the model: the reference manifest's order, node names from the manifest.
    const bare = await compareDumps({ refDir: outDir, testDir: outDir });
    expect(bare.report.rows.map((r) => [r.tensor, r.node])).toEqual(run.report.rows.map((r) => [r.tensor, r.node]));
  });

  it('match Ascend-style device files to tensors through the model\'s node names', async () => {
    const ref = join(root, 'ascend-ref');
    const dev = join(root, 'ascend-dev');
    const a = f32([1, 4, 16, 16], (i) => Math.sin(i / 5));
    const b = f32([1, 4, 16, 16], (i) => Math.cos(i / 7));
    put(ref, 'conv_a_out.npy', a);
    put(ref, 'relu_b_out.npy', b);
    put(dev, 'conv_a.0.1700000000000000.npy', f32([1, 4, 16, 16], () => 9));
    put(dev, 'conv_a.0.1700000000000009.npy', a);
    put(dev, 'Relu.relu_b.3.4.1700000000000001.output.0.npy', b);
    const { report } = await compareDumps({ refDir: ref, testDir: dev, modelPath: 'fixtures/planted-source.onnx' });
    expect(report.rows.map((r) => [r.tensor, r.node, r.pass, r.metrics?.maxAbs])).toEqual([
      ['conv_a_out', 'conv_a', true, 0],
      ['relu_b_out', 'relu_b', true, 0],
    ]);

    // Asked for by --taps, a tensor neither side recorded is reported missing.
    const tapped = await compareDumps({ refDir: ref, testDir: dev, modelPath: 'fixtures/planted-source.onnx', taps: ['conv_a', 'spike'] });
    expect(tapped.report.rows.map((r) => [r.tensor, r.error ?? 'ok'])).toEqual([
      ['conv_a_out', 'ok'], ['spike_out', 'No file holds it in either directory.'], ['y', 'No file holds it in either directory.'],
    ]);
    expect(tapped.gatePasses).toBe(false);
  });

  it('pair two Ascend-style directories by node and output without a model', async () => {
    const one = join(root, 'ascend-1');
    const two = join(root, 'ascend-2');
    put(one, 'layer1.0.100.npy', f32([4], (i) => i));
    put(two, 'layer1.0.200.npy', f32([4], (i) => i + 1));
    const { report } = await compareDumps({ refDir: one, testDir: two });
    expect(report.rows.map((r) => [r.tensor, r.metrics?.maxAbs])).toEqual([['layer1:0', 1]]);
  });
});
