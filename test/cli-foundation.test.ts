import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAS_SHARED, REPO, SHARED, runCliInProcess, tempDir } from './helpers/cli.js';
import { readNpy } from '../src/store/npy.js';
import { readManifest } from '../src/store/manifest.js';
import { FloatBackend } from '../src/backends/float.js';
import { readImage } from '../src/store/image.js';
import { GraphBuilder } from '../src/models/builder.js';
import { readModel } from '../src/store/model-file.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { inspect } from '../src/app/inspect.js';
import { formatInspect } from '../src/cli/commands/inspect.js';

const UDNIE = join(SHARED, 'models', 'udnie.onnx');
const FISH = join(SHARED, 'images', 'fish_720.png');
const DEMO = join(REPO, 'models', 'demo-generator.onnx');
const HOSTILE = join(REPO, 'fixtures', 'hostile-names.onnx');

function hasNumpy(): boolean {
  return spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

if (!HAS_SHARED) console.log(`skipping udnie CLI tests: ${SHARED} is absent`);

describe.skipIf(!HAS_SHARED)('inspect and run on udnie', () => {
  it('inspect --json lists 59 nodes and exactly one real input', async () => {
    const r = await runCliInProcess(['inspect', UDNIE, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.nodes).toHaveLength(59);
    expect(json.inputs).toEqual([{ name: 'inputImage', shape: ['None', 3, 720, 720], dtype: 'float32' }]);
    expect(json.nodes[0]).toMatchObject({ index: 0, opType: 'ImageScaler' });
    expect(Object.keys(json.nodes[0]).sort()).toEqual(['index', 'inputs', 'name', 'opType', 'outputs', 'outputShape', 'domain'].sort());
  });

  it('inspect prints a table with output shapes', async () => {
    const r = await runCliInProcess(['inspect', UDNIE, '--ops', 'InstanceNormalization']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('InstanceNormalization');
    expect(r.stdout).not.toMatch(/\bConvTranspose\b.*\[/);
    expect(r.stdout).toContain('[None,16,800,800]');
  });

  it('run --taps @all writes 59 tensors that numpy reads, and the output equals a plain onnxruntime run', { tags: ['slow'] }, async () => {
    const dir = join(tempDir(), 't');
    const r = await runCliInProcess([
      'run',
      UDNIE,
      '--backend',
      'float',
      '--input',
      `inputImage=${FISH}`,
      '--taps',
      '@all',
      '--out',
      dir,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const manifest = readManifest(dir);
    expect(manifest.status).toBe('complete');
    expect(manifest.tensors).toHaveLength(59);
    expect(readdirSync(join(dir, 'float'))).toHaveLength(59);
    for (const t of manifest.tensors) expect(resolve(dir, t.file).startsWith(resolve(dir))).toBe(true);

    const out = manifest.tensors.find((t) => t.name === 'outputImage');
    expect(out?.shape).toEqual([1, 3, 720, 720]);
    const dumped = readNpy(join(dir, out?.file as string));
    const backend = await FloatBackend.create(readModel(UDNIE));
    const image = await readImage(FISH);
    const plain = await backend.run(new Map([['inputImage', image]]), []);
    await backend.dispose();
    expect(
      Buffer.from((dumped.data as Float32Array).buffer).equals(Buffer.from((plain.get('outputImage')?.data as Float32Array).buffer)),
    ).toBe(true);

    if (hasNumpy()) {
      const script = [
        'import json, sys, numpy as np',
        'm = json.load(open(sys.argv[1] + "/manifest.json"))',
        'bad = [t["name"] for t in m["tensors"] if (lambda a: list(a.shape) != t["shape"] or str(a.dtype) != t["dtype"])(np.load(sys.argv[1] + "/" + t["file"]))]',
        'print(len(m["tensors"]), len(bad))',
      ].join('\n');
      const py = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
      expect(py.stdout.trim()).toBe('59 0');
    } else {
      console.log('skipping the numpy check: python3 with numpy is absent');
    }
  });
});

describe('bad input: exit code 2 and one sentence', () => {
  const dir = tempDir();
  const truncated = join(dir, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(DEMO).subarray(0, 1000));
  const text = join(dir, 'notes.onnx');
  writeFileSync(text, 'this is not a model\n');
  const badNpy = join(dir, 'bad.npy');
  writeFileSync(badNpy, Buffer.concat([Buffer.from('\x93NUMPY\x01\x00\x10\x00', 'latin1'), Buffer.from("{'descr': '<f4',")]));
  const cases: [string, string[], RegExp][] = [
    ['a truncated model', ['inspect', truncated], /truncated\.onnx.*not an ONNX model|truncated\.onnx/],
    ['a text file as model', ['inspect', text], /notes\.onnx/],
    ['a missing model', ['inspect', join(dir, 'nope.onnx')], /nope\.onnx' does not exist/],
    ['a missing input file', ['run', DEMO, '--input', `content=${join(dir, 'none.npy')}`], /none\.npy/],
    ['an unknown input name', ['run', DEMO, '--input', `contnt=${badNpy}`], /contnt.*closest.*'content'/],
    ['a bad .npy header', ['run', DEMO, '--input', `content=${badNpy}`], /bad\.npy/],
    ['an unknown tap name', ['run', DEMO, '--taps', 'fuse_cnv'], /fuse_cnv.*closest.*'fuse_conv'/],
    ['an unknown preset', ['run', DEMO, '--taps', '@nothing'], /@nothing/],
    ['an unknown flag', ['run', DEMO, '--frobnicate'], /frobnicate/],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const r = await runCliInProcess(args, { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a wrong input shape names the input and both shapes', async () => {
    const npy = join(dir, 'small.npy');
    const gen = spawnSync(
      process.execPath,
      [
        '-e',
        `
      const { writeNpy } = await import(${JSON.stringify(join(REPO, 'dist/store/npy.js'))});
      const { makeTensor } = await import(${JSON.stringify(join(REPO, 'dist/core/tensor.js'))});
      writeNpy(${JSON.stringify(npy)}, makeTensor('float32', [1, 3, 8, 8], new Float32Array(192)));
    `,
      ],
      { encoding: 'utf8', env: process.env, input: '' },
    );
    expect(gen.status, gen.stderr).toBe(0);
    const r = await runCliInProcess(['run', DEMO, '--input', `content=${npy}`], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/content/);
    expect(r.stderr).toMatch(/\[1,3,64,64\]/);
    expect(r.stderr).toMatch(/\[1,3,8,8\]/);
  });
});

describe('hostile tensor names', () => {
  it('a model whose tensor names hold ../, / and \\ writes only inside its run directory', async () => {
    const root = tempDir();
    const model = join(root, 'hostile.onnx');
    copyFileSync(HOSTILE, model);
    const out = join(root, 'runs', 'r1');
    const r = await runCliInProcess(['run', model, '--taps', '@all', '--out', out, '--json'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const listing = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listing(join(d, e.name)) : [join(d, e.name)]));
    const everything = listing(root).map((f) => relative(root, f));
    for (const f of everything) expect(f === 'hostile.onnx' || f.startsWith(join('runs', 'r1'))).toBe(true);
    const manifest = readManifest(out);
    expect(manifest.tensors.length).toBeGreaterThan(3);
    expect(manifest.tensors.some((t) => t.name.includes('../'))).toBe(true);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  });
});

describe('inspect of long names', () => {
  const long = `/model/encoder/layers.0/self_attn/${'q_proj/'.repeat(4)}MatMul`;
  const dir = tempDir('qs-inspect-long-');
  const file = join(dir, 'long.onnx');
  const b = new GraphBuilder({ name: 'long', opset: 13, irVersion: 7, seed: 1 });
  b.output(b.relu(b.input('x', [1, 2]), { name: long, out: `${long}_output_0` }));
  writeModel(createModel(b.build()), file);

  it('piped, prints every name whole', async () => {
    const r = await runCliInProcess(['inspect', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`│ ${long} │`);
    expect(r.stdout).toContain(`${long}_output_0`);
    expect(r.stdout).not.toContain('…');
  });

  it('on a terminal, cuts a name longer than its column with its length', () => {
    const text = formatInspect(inspect({ modelPath: file, ops: [] }));
    expect(text).toContain(`${long.slice(0, 40)}…(${long.length} chars)`);
    expect(text).not.toContain(`│ ${long} │`);
  });
});
