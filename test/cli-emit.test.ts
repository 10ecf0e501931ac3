import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { EmitVerificationError } from '../src/app/emit/emit-verify.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { quantBackendFor } from '../src/app/quantize.js';
import { OrtSession } from '../src/backends/session.js';
import { reportError } from '../src/cli/errors.js';
import type { Tensor } from '../src/core/tensor.js';
import { expectBadInput } from './helpers/bad-input.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';
import { writeCalibrationImages } from './helpers/quant-setup.js';

/** `quantscope emit` through the built CLI. */

const DEMO = join(REPO, 'models', 'demo-generator.onnx');
const CONV = join(REPO, 'fixtures', 'conv-in-relu.onnx');
const previousCache = process.env.QUANTSCOPE_CACHE;
let work = '';
let cache = '';

beforeAll(() => {
  work = tempDir('qs-cli-emit-');
  cache = join(work, 'cache');
  // The in-process quant backend below must see the calibrations the CLI cached.
  process.env.QUANTSCOPE_CACHE = cache;
});

afterAll(() => {
  if (previousCache === undefined) delete process.env.QUANTSCOPE_CACHE;
  else process.env.QUANTSCOPE_CACHE = previousCache;
});

describe('quantscope emit on the demo model', () => {
  it('writes models/<name>.<tag>.onnx beside the working directory, with its two JSON files', async () => {
    const cwd = join(work, 'default-name');
    mkdirSync(cwd, { recursive: true });
    const plain = await runCliInProcess(['emit', DEMO], { cwd, env: { QUANTSCOPE_CACHE: cache } });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`wrote ${join('models', 'demo-generator.generic-int8.onnx')}`);
    expect(plain.stdout).toMatch(/verified: 41 node\(s\) at their planned precision; 1 output\(s\) identical/);
    const mixed = await runCliInProcess(['emit', DEMO, '--precision', 'fuse_conv=int16', '--json'], {
      cwd,
      env: { QUANTSCOPE_CACHE: cache },
    });
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'models')).sort()).toEqual([
      'demo-generator.generic-int8.manifest.json',
      'demo-generator.generic-int8.onnx',
      'demo-generator.generic-int8.quant.json',
      'demo-generator.mixed.manifest.json',
      'demo-generator.mixed.onnx',
      'demo-generator.mixed.quant.json',
    ]);
    const json = JSON.parse(mixed.stdout);
    expect(json.tag).toBe('mixed');
    expect(json.files.model).toBe(join('models', 'demo-generator.mixed.onnx'));
    // INT8 alone visibly fails on the demo; INT16 at the hazard node brings it back.
    const manifest = (file: string) => JSON.parse(readFileSync(join(cwd, 'models', file), 'utf8'));
    expect(manifest('demo-generator.generic-int8.manifest.json').evaluation.outputs[0].cosine).toBeLessThan(0.99);
    expect(json.manifest.evaluation.outputs[0].cosine).toBeGreaterThan(0.999);
    expect(json.manifest.plan.overrides).toEqual([['fuse_conv', 'int16']]);
  });

  it('the emitted file loads in a fresh onnxruntime session and reproduces the quant backend', async () => {
    const out = join(work, 'fresh', 'demo.onnx');
    const r = await runCliInProcess(['emit', DEMO, '--precision', 'fuse_conv=int16', '--out', out, '-q'], {
      env: { QUANTSCOPE_CACHE: cache },
    });
    expect(r.code, r.stderr).toBe(0);
    const ctx = await openModel({ modelPath: DEMO });
    const setup = await setUpQuant(ctx, { overrides: [['fuse_conv', 'int16']] });
    const backend = await quantBackendFor(ctx, setup.plan, setup.calibration);
    const session = await OrtSession.createWithDefaults(readFileSync(out), out);
    try {
      const expected = (await backend.run(ctx.feeds, [])).get('image') as Tensor;
      const got = (await session.run(ctx.feeds)).get('image') as Tensor;
      expect(got.dims).toEqual([1, 3, 64, 64]);
      expect([...(got.data as Float32Array)]).toEqual([...(expected.data as Float32Array)]);
    } finally {
      await session.dispose();
      await backend.dispose();
    }
  });

  it('reads a calibration table written by calibrate', async () => {
    const images = await writeCalibrationImages(join(work, 'images'), 2);
    const table = join(work, 'conv.calibration.json');
    const c = await runCliInProcess(['calibrate', CONV, '--calib', ...images, '--out', table, '-q'], { env: { QUANTSCOPE_CACHE: cache } });
    expect(c.code, c.stderr).toBe(0);
    const out = join(work, 'with-table', 'conv.onnx');
    const e = await runCliInProcess(['emit', CONV, '--calibration', table, '--out', out, '--json'], {
      env: { QUANTSCOPE_CACHE: join(work, 'empty-cache') },
    });
    expect(e.code, e.stderr).toBe(0);
    const manifest = JSON.parse(e.stdout).manifest;
    expect(manifest.calibration).toMatchObject({ id: JSON.parse(readFileSync(table, 'utf8')).id, samples: 2 });
    expect(existsSync(join(work, 'empty-cache'))).toBe(false);
  });
});

describe('quantscope emit refuses bad input with exit code 2 and one sentence', () => {
  it('a plan naming an unknown node', async () => {
    const plan = join(work, 'plan.json');
    writeFileSync(plan, JSON.stringify({ profile: 'generic-int8', overrides: { fuse_cnv: 'int16' } }));
    const out = join(work, 'unknown-node', 'demo.onnx');
    expectBadInput(
      await runCliInProcess(['emit', DEMO, '--plan', plan, '--out', out]),
      /no node or tensor is named 'fuse_cnv'; the closest are 'fuse_conv'/,
    );
    expect(existsSync(join(work, 'unknown-node'))).toBe(false);
  });

  it('an unknown node in --precision', async () => {
    expectBadInput(
      await runCliInProcess(['emit', DEMO, '--precision', 'nope=int16', '--out', join(work, 'x.onnx')]),
      /no node or tensor is named 'nope'/,
    );
  });

  it('a profile with a wrong field', async () => {
    const file = join(work, 'bad-profile.json');
    const profile = JSON.parse(readFileSync(join(REPO, 'src', 'quant', 'profiles', 'int8-fp16.json'), 'utf8'));
    writeFileSync(file, JSON.stringify({ ...profile, weights: { ...profile.weights, granularity: 'per-row' } }));
    expectBadInput(
      await runCliInProcess(['emit', CONV, '--profile', file, '--out', join(work, 'y.onnx')]),
      /field 'weights\.granularity' must be 'per-channel' or 'per-tensor', not 'per-row'/,
    );
  });

  it('an empty calibration folder', async () => {
    const empty = join(work, 'no-images');
    mkdirSync(empty, { recursive: true });
    expectBadInput(
      await runCliInProcess(['emit', CONV, '--calib', empty, '--out', join(work, 'z.onnx')]),
      /Calibration folder '.*no-images' holds no image or tensor file/,
    );
  });

  it('an --out that is not an .onnx file', async () => {
    expectBadInput(
      await runCliInProcess(['emit', CONV, '--out', join(work, 'model.bin')]),
      /--out '.*model\.bin' must name an \.onnx file/,
    );
  });
});

describe('a failed verification', () => {
  it('is exit code 3 with one line naming the mismatches', () => {
    const lines: string[] = [];
    const code = reportError(
      new EmitVerificationError('out/m.onnx', ["node 'c' (Conv, planned int16): it reads 'x' as int8, not int16"]),
      (t) => lines.push(t),
    );
    expect(code).toBe(3);
    expect(lines).toEqual([
      "quantscope: Verification of the emitted model 'out/m.onnx' failed, so it was not written: node 'c' (Conv, planned int16): it reads 'x' as int8, not int16.\n",
    ]);
  });
});
