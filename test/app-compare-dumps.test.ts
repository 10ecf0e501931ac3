import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareModel } from '../src/app/compare/compare.js';
import { compareDumps } from '../src/app/compare/compare-dumps.js';
import { gatePasses as gatePassesOf } from '../src/app/compare/compare-report.js';
import { openModel } from '../src/app/context.js';
import type { ProgressEvent } from '../src/app/events.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { tensorFileName } from '../src/store/file-names.js';
import { summaryLines } from '../src/present/report-cells.js';
import { RunDir } from '../src/store/run-dir.js';
import { writeTensorFile } from '../src/store/tensor-file.js';
import { isolatedCache } from './helpers/cli.js';

const root = isolatedCache('qs-compare-dumps-');

const f32 = (dims: number[], fill: (i: number) => number): Tensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return makeTensor(
    'float32',
    dims,
    Float32Array.from({ length: n }, (_, i) => fill(i)),
  );
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
    put(
      test,
      'pool.npy',
      f32([1, 3], () => 0),
    );
    put(
      test,
      'logits.npy',
      f32([1, 4], (i) => (i === 2 ? Number.NaN : -2.5 + i * 1e3)),
    );
    writeFileSync(join(test, 'ids.npy'), Buffer.from('\x93NUMPY\x01\x00v\x00{'));
    put(test, 'mask.npy', TENSORS.mask);
    put(
      test,
      'extra_only_in_test.npy',
      f32([2], () => 1),
    );
  });

  it("report each problem in its tensor's row and go on with the rest", async () => {
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
    // ids comes first but was not compared (its file is truncated): the first failure is logits.
    expect(report.firstFailing).toBe('logits');
    expect(gatePasses).toBe(false);
  });

  it('refuse a missing directory and a map entry that neither directory holds', async () => {
    await expect(compareDumps({ refDir: join(root, 'nowhere'), testDir: test })).rejects.toThrow(
      /--ref directory .*nowhere' does not exist/,
    );
    writeFileSync(join(root, 'bad-map.json'), JSON.stringify({ relu1: 'no-such-file.bin' }));
    await expect(compareDumps({ refDir: ref, testDir: test, mapFile: join(root, 'bad-map.json') })).rejects.toThrow(UserError);
    await expect(compareDumps({ refDir: ref, testDir: test, taps: ['conv1'] })).rejects.toThrow(/--taps selects tensors of a model/);
  });
});

describe('dump directories with a model', () => {
  it("compare a quantscope run's float side against its quant side exactly as compare did, in topological order", async () => {
    const ctx = await openModel({ modelPath: 'fixtures/planted-source.onnx' });
    const quant = await setUpQuant(ctx, {});
    const outDir = join(root, 'run');
    const run = await compareModel({ ctx, quant, outDir, own: false, achievable: false });
    const { report } = await compareDumps({ refDir: outDir, testDir: outDir, modelPath: 'fixtures/planted-source.onnx' });
    expect(report.rows.map((r) => [r.tensor, r.node, r.opType, r.index])).toEqual(
      run.report.rows.map((r) => [r.tensor, r.node, r.opType, r.index]),
    );
    expect(report.rows.map((r) => r.metrics?.cosine)).toEqual(run.report.rows.map((r) => r.metrics?.cosine));
    expect(report.outputs).toEqual(['y']);
    expect(report.firstFailing).toBe('planted_source_out');

    // Without the model: the reference manifest's order, node names from the manifest.
    const bare = await compareDumps({ refDir: outDir, testDir: outDir });
    expect(bare.report.rows.map((r) => [r.tensor, r.node])).toEqual(run.report.rows.map((r) => [r.tensor, r.node]));
  });

  it("match Ascend-style device files to tensors through the model's node names", async () => {
    const ref = join(root, 'ascend-ref');
    const dev = join(root, 'ascend-dev');
    const a = f32([1, 4, 16, 16], (i) => Math.sin(i / 5));
    const b = f32([1, 4, 16, 16], (i) => Math.cos(i / 7));
    put(ref, 'conv_a_out.npy', a);
    put(ref, 'relu_b_out.npy', b);
    put(
      dev,
      'conv_a.0.1700000000000000.npy',
      f32([1, 4, 16, 16], () => 9),
    );
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
      ['conv_a_out', 'ok'],
      ['spike_out', 'No file holds it in either directory.'],
      ['y', 'No file holds it in either directory.'],
    ]);
    expect(tapped.gatePasses).toBe(false);
  });

  it('pair two Ascend-style directories by node and output without a model', async () => {
    const one = join(root, 'ascend-1');
    const two = join(root, 'ascend-2');
    put(
      one,
      'layer1.0.100.npy',
      f32([4], (i) => i),
    );
    put(
      two,
      'layer1.0.200.npy',
      f32([4], (i) => i + 1),
    );
    const { report } = await compareDumps({ refDir: one, testDir: two });
    expect(report.rows.map((r) => [r.tensor, r.metrics?.maxAbs])).toEqual([['layer1:0', 1]]);
  });
});

/** Every name below is written by quantscope under `<sanitized>-<hash>`; test = ref + a per-tensor step at element 0. */
const WRITTEN = [
  '/Concat_output_0',
  '/conv1/Conv_output_0',
  'output',
  'a/b',
  'a:b',
  'x_y',
  'x/y',
  'L'.repeat(10_000),
  '\u001b[31mred',
  '..',
  '',
];
const refOf = (i: number) => f32([1, 4], (j) => i * 10 + j + 1);
const stepOf = (i: number) => (i + 1) / 1024;
const testOf = (i: number) => f32([1, 4], (j) => i * 10 + j + 1 + (j === 0 ? stepOf(i) : 0));
/** How a compare without a model shows each name: its sanitized part, or its whole file base when that part is ambiguous. */
const SHOWN: Record<string, string> = {
  '/Concat_output_0': '_Concat_output_0',
  '/conv1/Conv_output_0': '_conv1_Conv_output_0',
  output: 'output',
  'a/b': tensorFileName('a/b'),
  'a:b': tensorFileName('a:b'),
  x_y: 'x_y',
  'x/y': tensorFileName('x/y'),
  ['L'.repeat(10_000)]: 'L'.repeat(100),
  '\u001b[31mred': '__31mred',
  '..': '_.',
  '': '_',
};

function writeRun(dir: string, names: readonly string[], options: { complete?: boolean; quant?: readonly string[] } = {}): void {
  const run = RunDir.create(dir, {
    model: { path: 'm.onnx', sha256: 'x' },
    inputs: [],
    taps: [...names],
    fsync: false,
    manifestIntervalMs: 0,
  });
  names.forEach((name, i) => run.writeTensor('float', name, refOf(i), { name: `node ${i}`, opType: 'Relu' }));
  names.forEach((name, i) => {
    if (!options.quant || options.quant.includes(name)) run.writeTensor('quant', name, testOf(i), { name: `node ${i}`, opType: 'Relu' });
  });
  if (options.complete ?? true) run.complete();
  else run.flush();
}

describe('the float/ and quant/ directories of a run, without its manifest', () => {
  const run = join(root, 'names-run');
  const copy = join(root, 'names-copy');
  beforeAll(() => {
    writeRun(run, WRITTEN);
    for (const side of ['float', 'quant']) cpSync(join(run, side), join(copy, side), { recursive: true });
  });

  it('pair every file by its hash, shown by the sanitized name unless two tensors share it', async () => {
    const { report, gatePasses, nothingCompared } = await compareDumps({ refDir: join(copy, 'float'), testDir: join(copy, 'quant') });
    expect(nothingCompared).toBeNull();
    expect(report.rows.map((r) => r.tensor).sort()).toEqual(Object.values(SHOWN).sort());
    WRITTEN.forEach((name, i) => {
      const row = report.rows.find((r) => r.tensor === SHOWN[name]);
      expect(row?.error, SHOWN[name]).toBeUndefined();
      // The step of this very tensor: the reference and test files of one tensor were paired.
      expect(row?.metrics?.maxAbs, SHOWN[name]).toBeCloseTo(stepOf(i), 4);
    });
    expect(gatePasses).toBe(true);
  });

  it('give the exact names with the model, and with the manifest one level up', async () => {
    const b = new GraphBuilder({ name: 'written-names', opset: 13, irVersion: 7, seed: 1 });
    let x = b.input('in', [1, 4]);
    // '' names no tensor in ONNX (it is an omitted input): every other name is a model tensor.
    const inModel = WRITTEN.filter((name) => name !== '');
    for (const name of inModel) x = b.relu(x, { name: `n${name.length}${name.slice(0, 3)}`, out: name });
    b.output(x);
    const model = join(root, 'written-names.onnx');
    writeModel(createModel(b.build()), model);
    const withModel = await compareDumps({ refDir: join(copy, 'float'), testDir: join(copy, 'quant'), modelPath: model });
    const inRun = await compareDumps({ refDir: join(run, 'float'), testDir: join(run, 'quant') });
    for (const [{ report }, names] of [
      [withModel, inModel],
      [inRun, WRITTEN],
    ] as const) {
      expect(report.rows.map((r) => r.tensor)).toEqual(names);
      names.forEach((name, i) => expect(report.rows[i].metrics?.maxAbs, name).toBeCloseTo(stepOf(WRITTEN.indexOf(name)), 4));
    }
    expect(inRun.report.rows.map((r) => r.node)).toEqual(WRITTEN.map((_, i) => `node ${i}`));
  });

  it('make one row of a tensor named exactly on one side and by its file name on the other', async () => {
    const { report } = await compareDumps({ refDir: run, testDir: join(copy, 'quant') });
    expect(report.rows.map((r) => r.tensor)).toEqual(WRITTEN);
    expect(report.rows.every((r) => r.metrics !== null)).toBe(true);
  });

  it('pair a file named by the sanitized name alone, but never guess between two tensors that share it', async () => {
    const ref = join(root, 'sanitized-ref');
    const dev = join(root, 'sanitized-dev');
    put(ref, tensorFileName('/Concat_output_0', '.npy'), refOf(0));
    put(ref, tensorFileName('a/b', '.npy'), refOf(1));
    put(ref, tensorFileName('a:b', '.npy'), refOf(2));
    put(dev, '_Concat_output_0.npy', testOf(0));
    put(dev, 'a_b.npy', testOf(1));
    const { report } = await compareDumps({ refDir: ref, testDir: dev });
    expect(Object.fromEntries(report.rows.map((r) => [r.tensor, r.metrics === null ? r.error : 'compared']))).toEqual({
      _Concat_output_0: 'compared',
      [tensorFileName('a/b')]: expect.stringMatching(/No file holds it in the test directory/),
      [tensorFileName('a:b')]: expect.stringMatching(/No file holds it in the test directory/),
      a_b: expect.stringMatching(/No file holds it in the reference directory/),
    });
  });
});

describe('dump directories that cannot be compared', () => {
  it('never name a row that was not compared as the first failure, and say that Ascend-style files need the model or --map', async () => {
    const ref = join(root, 'named-ref');
    const dev = join(root, 'ascend-only');
    put(ref, 'conv_a_out.npy', refOf(0));
    put(ref, 'relu_b_out.npy', refOf(1));
    put(dev, 'conv_a.0.1700000000000009.npy', testOf(0));
    put(dev, 'relu_b.0.1700000000000009.npy', testOf(1));
    const { report, gatePasses, nothingCompared } = await compareDumps({ refDir: ref, testDir: dev });
    expect(report.rows.every((r) => r.metrics === null)).toBe(true);
    expect(report.firstFailing).toBeNull();
    const summary = summaryLines(report);
    expect(summary.join('\n')).not.toMatch(/First failing/);
    expect(summary).toContain('No tensor could be compared.');
    expect(summary[0]).toBe(
      '0 of 4 tensors compared, 0 failing snrDb >= 30, outputs also psnrDb >= 40 (PSNR peak max |x|); 4 not compared.',
    );
    expect(gatePasses).toBe(false);
    expect(nothingCompared).toBe(
      `No tensor could be compared: the Ascend-style files of --test '${dev}' name nodes, not tensors, so give the model (quantscope compare model.onnx --ref DIR --test DIR) or --map to match them to the tensor names of --ref.`,
    );

    // With one tensor paired by name, the rest is compared and the Ascend-style files are a warning.
    put(dev, 'conv_a_out.npy', testOf(0));
    const events: ProgressEvent[] = [];
    const partial = await compareDumps({ refDir: ref, testDir: dev, onProgress: (e) => events.push(e) });
    expect(partial.nothingCompared).toBeNull();
    expect(partial.report.firstFailing).toBeNull();
    expect(warnings(events)).toContain(
      `The Ascend-style files of --test '${dev}' name nodes, not tensors, so give the model (quantscope compare model.onnx --ref DIR --test DIR) or --map to match them to the tensor names of --ref.`,
    );
  });

  it("fail the gate with a sentence when neither directory holds a tensor, or one holds none of the other's", async () => {
    const a = join(root, 'empty-a');
    const b = join(root, 'empty-b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    const empty = await compareDumps({ refDir: a, testDir: b });
    expect(empty.report.rows).toEqual([]);
    expect(empty.gatePasses).toBe(false);
    expect(gatePassesOf(empty.report)).toBe(false);
    expect(empty.nothingCompared).toBe(
      `No tensor could be compared: neither --ref '${a}' nor --test '${b}' holds a tensor file (.npy, .pb, .bin, .raw, .txt).`,
    );
    put(a, 'conv_a_out.npy', refOf(0));
    const oneSided = await compareDumps({ refDir: a, testDir: b });
    expect(oneSided.nothingCompared).toBe(
      `No tensor could be compared: --test '${b}' holds none of the 1 tensor(s) of --ref '${a}'; if it names them differently, give the model or --map.`,
    );
  });
});

describe('an interrupted run', () => {
  const dir = join(root, 'interrupted');
  const names = ['t0', 't1', 't2'];
  beforeAll(() => writeRun(dir, names, { complete: false, quant: ['t0'] }));
  const note = `Run directory '${dir}' is incomplete: its run was stopped before it finished, and 2 of its 3 taps have no quant tensor (the first is 't1').`;

  it.each([
    ['the run directory', dir, dir],
    ['its float/ and quant/', join(dir, 'float'), join(dir, 'quant')],
  ])('warns once, naming the directory and what is missing, when compared as %s', async (_what, refDir, testDir) => {
    const events: ProgressEvent[] = [];
    const { report } = await compareDumps({ refDir, testDir, onProgress: (e) => events.push(e) });
    expect(warnings(events).filter((w) => w.includes('incomplete'))).toEqual([note]);
    expect(report.rows.map((r) => [r.tensor, r.metrics !== null])).toEqual([
      ['t0', true],
      ['t1', false],
      ['t2', false],
    ]);
  });

  it('says why nothing was compared when the test side has no tensor yet', async () => {
    const early = join(root, 'interrupted-early');
    writeRun(early, names, { complete: false, quant: [] });
    const { nothingCompared } = await compareDumps({ refDir: join(early, 'float'), testDir: join(early, 'quant') });
    expect(nothingCompared).toBe(
      `No tensor could be compared: --test '${join(early, 'quant')}' holds none of the 3 tensor(s) of --ref '${join(early, 'float')}', as its run was stopped before it finished (see the warning above).`,
    );
  });

  it('does not warn about a complete run', async () => {
    const done = join(root, 'finished');
    writeRun(done, names);
    const events: ProgressEvent[] = [];
    await compareDumps({ refDir: done, testDir: done, onProgress: (e) => events.push(e) });
    expect(warnings(events)).toEqual([]);
  });
});

function warnings(events: readonly ProgressEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
}
