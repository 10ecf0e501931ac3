import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { buildGraph, type Graph, type ValueInfo } from '../src/core/graph.js';
import { makeTensor, toFloat64 } from '../src/core/tensor.js';
import { synthesizeInput } from '../src/analysis/input-values.js';
import { parseInputSpec, parseShapeSpec, resolveInputs } from '../src/app/inputs.js';
import { loadModel } from '../src/app/load-model.js';
import { parsePreprocess } from '../src/store/image.js';
import { sha256OfTensor } from '../src/store/manifest.js';
import { writeTensorFile } from '../src/store/tensor-file.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function graphWith(...inputs: ValueInfo[]): Graph {
  return buildGraph({ name: 'g', nodes: [], inputs, outputs: [], initializers: [], valueInfo: [], opsets: new Map([['', 17]]) });
}

const image: ValueInfo = { name: 'image', dtype: 'float32', shape: [1, 3, 4, 4] };
const style: ValueInfo = { name: 'style_vec', dtype: 'float32', shape: [1, 8] };
const dynamic: ValueInfo = { name: 'x', dtype: 'float32', shape: ['batch', 3, null, null] };
const ids: ValueInfo = { name: 'ids', dtype: 'int64', shape: [2, 3] };

const f = (name: string) => join(dir, name);

beforeAll(async () => {
  writeTensorFile(f('image.npy'), makeTensor('float32', [1, 3, 4, 4], new Float32Array(48).fill(0.5)), { fsync: false });
  writeTensorFile(f('small.npy'), makeTensor('float32', [1, 3, 2, 2], new Float32Array(12)), { fsync: false });
  writeTensorFile(f('f64.npy'), makeTensor('float64', [1, 3, 4, 4], new Float64Array(48)), { fsync: false });
  writeTensorFile(f('image.bin'), makeTensor('float32', [48], new Float32Array(48).fill(2)), { fsync: false });
  writeTensorFile(f('bytes.bin'), makeTensor('uint8', [48], new Uint8Array(48).fill(255)), { fsync: false });
  await sharp({ create: { width: 8, height: 6, channels: 3, background: { r: 255, g: 0, b: 10 } } })
    .png()
    .toFile(f('red.png'));
});

describe('parseInputSpec', () => {
  it.each([
    ['a.npy', [], { path: 'a.npy' }],
    ['image=a.npy', [], { name: 'image', path: 'a.npy' }],
    ['x=dir/a=b.npy', [], { name: 'x', path: 'dir/a=b.npy' }],
    ['a=b=c.npy', ['a=b'], { name: 'a=b', path: 'c.npy' }],
    ['x=f.bin:uint8[1,3,4,4]', [], { name: 'x', path: 'f.bin', dtype: 'uint8', shape: [1, 3, 4, 4] }],
    ['x=f.bin:[1,3,4,4]', [], { name: 'x', path: 'f.bin', shape: [1, 3, 4, 4] }],
    ['f.bin:[2x3]', [], { path: 'f.bin', shape: [2, 3] }],
    ['x=v.txt:int64', [], { name: 'x', path: 'v.txt', dtype: 'int64' }],
    ['x=v.txt:fp16', [], { name: 'x', path: 'v.txt', dtype: 'float16' }],
    ['C:\\data\\a.npy', [], { path: 'C:\\data\\a.npy' }],
    ['x=weird:name.npy', [], { name: 'x', path: 'weird:name.npy' }],
    ['x=dir:v2', [], { name: 'x', path: 'dir:v2' }],
  ] as const)('%j', (text, names, expected) => {
    expect(parseInputSpec(text, names)).toEqual({ name: undefined, dtype: undefined, shape: undefined, ...expected });
  });

  it.each([
    ['=a.npy', /the name before = is empty/],
    ['x=', /the path is empty/],
    ['x=f.bin:float31[1]', /'float31' is not a dtype/],
    ['x=f.bin:[1,a]', /'a' is not a dimension/],
  ])('rejects %j', (text, message) => {
    expect(() => parseInputSpec(text)).toThrow(UserError);
    expect(() => parseInputSpec(text)).toThrow(message);
  });
});

describe('parseShapeSpec', () => {
  it.each([
    ['x=1x3x224x224', { name: 'x', shape: [1, 3, 224, 224] }],
    ['a=b=[1,2]', { name: 'a=b', shape: [1, 2] }],
    ['s=', { name: 's', shape: [] }],
  ])('%j', (text, expected) => {
    expect(parseShapeSpec(text)).toEqual(expected);
  });
  it.each(['1x3', 'x=1xq'])('rejects %j', (text) => {
    expect(() => parseShapeSpec(text)).toThrow(/Bad --shape value/);
  });
});

describe('synthesizeInput', () => {
  const stats = (values: Float64Array) => {
    let s = 0;
    let s2 = 0;
    for (const v of values) {
      s += v;
      s2 += v * v;
    }
    const mean = s / values.length;
    return { mean, std: Math.sqrt(s2 / values.length - mean * mean), min: Math.min(...values), max: Math.max(...values) };
  };

  it('is deterministic per name and seed, and differs otherwise', () => {
    const a = synthesizeInput('x', 'float32', [1, 3, 8, 8]);
    expect(sha256OfTensor(synthesizeInput('x', 'float32', [1, 3, 8, 8]))).toBe(sha256OfTensor(a));
    expect(sha256OfTensor(synthesizeInput('y', 'float32', [1, 3, 8, 8]))).not.toBe(sha256OfTensor(a));
    expect(sha256OfTensor(synthesizeInput('x', 'float32', [1, 3, 8, 8], 1))).not.toBe(sha256OfTensor(a));
  });

  it.each([
    ['NCHW image', [1, 3, 32, 32]],
    ['NHWC image', [1, 32, 32, 3]],
  ])('%s values span 0..255', (_what, dims) => {
    const s = stats(toFloat64(synthesizeInput('img', 'float32', dims)));
    expect(s.min).toBeGreaterThanOrEqual(0);
    expect(s.max).toBeLessThanOrEqual(255);
    expect(s.max - s.min).toBeGreaterThan(150);
    expect(s.mean).toBeGreaterThan(90);
    expect(s.mean).toBeLessThan(165);
  });

  it('other float inputs are roughly N(0,1)', () => {
    const s = stats(toFloat64(synthesizeInput('v', 'float32', [4, 1000])));
    expect(Math.abs(s.mean)).toBeLessThan(0.1);
    expect(s.std).toBeGreaterThan(0.7);
    expect(s.std).toBeLessThan(1.2);
  });

  it.each([
    ['int64', [5], (v: number) => Number.isInteger(v) && v >= 0 && v <= 9],
    ['uint8', [1, 3, 4, 4], (v: number) => Number.isInteger(v) && v >= 0 && v <= 255],
    ['bool', [10], (v: number) => v === 0 || v === 1],
    ['float16', [10], (v: number) => Number.isFinite(v) && Math.abs(v) < 10],
  ] as const)('%s values are valid', (dtype, dims, ok) => {
    const t = synthesizeInput('q', dtype, dims);
    expect(t.dtype).toBe(dtype);
    expect(Array.from(toFloat64(t)).every(ok)).toBe(true);
  });

  it('refuses string inputs', () => {
    expect(() => synthesizeInput('s', 'string', [1])).toThrow(/cannot make values/);
  });
});

describe('resolveInputs', () => {
  it('synthesizes every input when none is given, the same on every run', async () => {
    const g = graphWith(image, style, ids);
    const a = await resolveInputs(g, []);
    const b = await resolveInputs(g, []);
    expect([...a.feeds.keys()]).toEqual(['image', 'style_vec', 'ids']);
    expect(a.sources.map((s) => s.sha256)).toEqual(b.sources.map((s) => s.sha256));
    expect(a.sources[2]).toMatchObject({ name: 'ids', source: 'synthetic (seed 0)', shape: [2, 3], dtype: 'int64' });
    expect(a.sources[0].sha256).toBe(sha256OfTensor(a.feeds.get('image')!));
  });

  it('reads a file given without a name for a one-input model', async () => {
    const r = await resolveInputs(graphWith(image), [parseInputSpec(f('image.npy'))]);
    expect(Array.from(r.feeds.get('image')!.data as Float32Array).every((v) => v === 0.5)).toBe(true);
    expect(r.sources[0].source).toBe(f('image.npy'));
  });

  it('mixes given and synthetic inputs by default', async () => {
    const r = await resolveInputs(graphWith(image, style), [parseInputSpec(`image=${f('image.npy')}`)]);
    expect(r.sources.map((s) => s.source)).toEqual([f('image.npy'), 'synthetic (seed 0)']);
  });

  it.each([
    ['.bin takes dtype and shape from the model', `image=${f('image.bin')}`, 'float32', 2],
    ['.bin with an explicit dtype', `image=${f('bytes.bin')}:uint8`, 'error', 0],
  ])('%s', async (_what, text, dtype, first) => {
    const run = resolveInputs(graphWith(image), [parseInputSpec(text)]);
    if (dtype === 'error') {
      await expect(run).rejects.toThrow(/Input 'image' is float32 but '.*bytes\.bin' holds uint8/);
    } else {
      const t = (await run).feeds.get('image')!;
      expect(t.dtype).toBe(dtype);
      expect((t.data as Float32Array)[0]).toBe(first);
    }
  });

  it('decodes an image to the model input size, and infers NHWC', async () => {
    const nchw = await resolveInputs(graphWith(image), [parseInputSpec(f('red.png'))], { preprocess: parsePreprocess('scale=1/255') });
    const t = nchw.feeds.get('image')!;
    expect([...t.dims]).toEqual([1, 3, 4, 4]);
    expect((t.data as Float32Array)[0]).toBeCloseTo(1, 5);
    expect((t.data as Float32Array)[16]).toBeCloseTo(0, 5);
    const nhwc = await resolveInputs(graphWith({ name: 'in', dtype: 'uint8', shape: [1, 5, 7, 3] }), [parseInputSpec(f('red.png'))]);
    const u = nhwc.feeds.get('in')!;
    expect(u.dtype).toBe('uint8');
    expect([...u.dims]).toEqual([1, 5, 7, 3]);
    expect(Array.from((u.data as Uint8Array).slice(0, 3))).toEqual([255, 0, 10]);
  });

  it('uses --shape for dynamic dimensions', async () => {
    const r = await resolveInputs(graphWith(dynamic), [], { shapes: { x: [2, 3, 5, 5] } });
    expect([...r.feeds.get('x')!.dims]).toEqual([2, 3, 5, 5]);
    const img = await resolveInputs(graphWith(dynamic), [parseInputSpec(f('red.png'))]);
    expect([...img.feeds.get('x')!.dims]).toEqual([1, 3, 6, 8]);
  });

  const errors: [string, ValueInfo[], string[], object, RegExp][] = [
    [
      'dynamic dims without --shape',
      [dynamic],
      [],
      {},
      /Input 'x' has dynamic dimensions \(shape \[batch,3,\?,\?\]\); give its shape with --shape x=1x3x1x1/,
    ],
    [
      'unknown input name',
      [image, style],
      ['imgae=a.npy'],
      {},
      /--input names 'imgae', which is not an input of the model \(closest: 'image'/,
    ],
    ['unknown --shape name', [image], [], { shapes: { imag: [1] } }, /--shape names 'imag'.*closest: 'image'/],
    ['no name with two inputs', [image, style], ['a.npy'], {}, /needs a NAME= prefix because the model has 2 inputs: 'image', 'style_vec'/],
    ['given twice', [image], [`image=${f('image.npy')}`, `image=${f('image.npy')}`], {}, /Input 'image' is given twice/],
    [
      'shape mismatch',
      [image],
      [`image=${f('small.npy')}`],
      {},
      /Input 'image' expects shape \[1,3,4,4\] but '.*small\.npy' holds \[1,3,2,2\]/,
    ],
    ['dtype mismatch', [image], [`image=${f('f64.npy')}`], {}, /Input 'image' is float32 but '.*f64\.npy' holds float64/],
    [
      '--shape against declared dims',
      [dynamic],
      [],
      { shapes: { x: [1, 4, 5, 5] } },
      /--shape x=1x4x5x5 does not fit input 'x', whose shape is \[batch,3,\?,\?\]/,
    ],
    [
      '--shape against the file',
      [dynamic],
      [`x=${f('image.npy')}`],
      { shapes: { x: [1, 3, 5, 5] } },
      /expects shape \[1,3,5,5\] but .* holds \[1,3,4,4\]/,
    ],
    [
      'synthesis turned off',
      [image, style],
      [`image=${f('image.npy')}`],
      { synthesize: false },
      /Input 'style_vec' has no --input; give one/,
    ],
    ['image for a 2-D input', [style], [f('red.png')], {}, /Input 'style_vec' has shape \[1,8\], which is not an image layout/],
    ['missing file', [image], [f('nope.npy')], {}, /nope\.npy' cannot be opened/],
  ];
  it.each(errors)('%s -> UserError', async (_what, inputs, specs, options, message) => {
    const run = () =>
      resolveInputs(
        graphWith(...inputs),
        specs.map((s) => parseInputSpec(s)),
        options,
      );
    await expect(run()).rejects.toThrow(UserError);
    await expect(run()).rejects.toThrow(message);
  });
});

const SHARED = join(__dirname, '..', '..', 'shared');
if (!existsSync(SHARED)) console.log(`skipping real-model input tests: ${SHARED} is absent`);

describe.skipIf(!existsSync(SHARED))('inputs of the models in ../shared', () => {
  it('mnist takes a photograph as one grey 28x28 channel', async () => {
    const { graph } = loadModel(join(SHARED, 'models', 'mnist.onnx'));
    const r = await resolveInputs(graph, [parseInputSpec(join(SHARED, 'images', 'kitten_224.png'))], {
      preprocess: parsePreprocess('unit'),
    });
    const t = r.feeds.get('Input3')!;
    expect([...t.dims]).toEqual([1, 1, 28, 28]);
    expect(Math.max(...(t.data as Float32Array))).toBeLessThanOrEqual(1);
  });

  it('udnie takes fish_720.png as is, and a synthetic input gets batch 1 with a notice', async () => {
    const { graph } = loadModel(join(SHARED, 'models', 'udnie.onnx'));
    const r = await resolveInputs(graph, [parseInputSpec(`inputImage=${join(SHARED, 'images', 'fish_720.png')}`)]);
    expect([...r.feeds.get('inputImage')!.dims]).toEqual([1, 3, 720, 720]);
    expect(r.notices).toEqual([]);
    const batch = await resolveInputs(graph, []);
    expect([...batch.feeds.get('inputImage')!.dims]).toEqual([1, 3, 720, 720]);
    expect(batch.notices).toEqual([
      "input 'inputImage' has a dynamic batch dimension (shape [None,3,720,720]): using batch 1 (give --shape inputImage=Nx3x720x720 to choose)",
    ]);
    const s = await resolveInputs(graph, [], { shapes: { inputImage: [1, 3, 720, 720] } });
    expect(s.sources[0]).toMatchObject({ source: 'synthetic (seed 0)', shape: [1, 3, 720, 720] });
  });
});

describe('parseInputSpec with a file whose name holds =', () => {
  it('takes an existing path as a path, not NAME=PATH (--eval opens the model on such a file)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'qs-eq-')), 'ev=1.npy');
    writeFileSync(file, '');
    expect(parseInputSpec(file, ['x'])).toMatchObject({ name: undefined, path: file });
    expect(parseInputSpec(`x=${file}`, ['x'])).toMatchObject({ name: 'x', path: file });
  });
});
