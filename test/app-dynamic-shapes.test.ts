import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { emitModel } from '../src/app/emit/emit.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { openSession } from '../src/app/session/session.js';
import { executeJob } from '../src/app/session/session-exec.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { createModel, writeModel, type ModelSpec } from '../src/onnx/index.js';
import { writeNpy } from '../src/store/npy.js';
import { isolatedCache, runCliInProcess } from './helpers/cli.js';

/**
 * Dynamic dimensions do not stop a newcomer: a dynamic batch alone becomes 1 with a notice; other
 * dynamic dimensions take the first calibration file's shape; only when nothing fixes them is a
 * --shape asked for. The manifest records the preprocessing images went through, and emit's
 * metrics line says when its evaluation input is synthetic.
 */

const work = isolatedCache('qs-dynamic-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const f32 = (values: number[], dims: number[]) => makeTensor('float32', dims, Float32Array.from(values));

function conv(name: string, shape: (number | string)[]): string {
  const spec: ModelSpec = {
    name,
    opsets: { '': 13 },
    inputs: [{ name: 'x', dtype: 'float32', shape }],
    outputs: [{ name: 'y', dtype: 'float32' }],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'] },
      { name: 'relu', opType: 'Relu', inputs: ['c'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'w', tensor: f32([0.5, -0.25, 1, 0.75, 0.5, -1, 0.2, 0.1, 0.3], [3, 3, 1, 1]) },
      { name: 'b', tensor: f32([0.1, 0, -0.1], [3]) },
    ],
  };
  const file = path.join(work, `${name}.onnx`);
  writeModel(createModel(spec), file);
  return file;
}

const batchOnly = conv('batch-only', ['N', 3, 8, 8]);
const allDynamic = conv('all-dynamic', ['N', 3, 'H', 'W']);

async function png(file: string, width: number, height: number): Promise<string> {
  const buf = Buffer.alloc(width * height * 3);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 29) % 256;
  await sharp(buf, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
  return file;
}

describe('opening a model with dynamic dimensions', () => {
  it('a dynamic batch alone becomes 1, with a one-line notice', async () => {
    const lines: string[] = [];
    const ctx = await openModel({
      modelPath: batchOnly,
      onProgress: (e) => {
        if (e.type === 'log') lines.push(e.message);
      },
    });
    expect(ctx.feeds.get('x')?.dims).toEqual([1, 3, 8, 8]);
    expect(lines).toEqual(["input 'x' has a dynamic batch dimension (shape [N,3,8,8]): using batch 1 (give --shape x=Nx3x8x8 to choose)"]);
    expect(ctx.notices).toEqual(lines);
  });

  it('other dynamic dimensions take the shape of the first calibration file', async () => {
    const sample = path.join(work, 'sample.npy');
    writeNpy(
      sample,
      f32(
        Array.from({ length: 2 * 3 * 5 * 7 }, (_, i) => i / 10),
        [2, 3, 5, 7],
      ),
      { fsync: false },
    );
    const ctx = await openModel({ modelPath: allDynamic, shapeFrom: [sample] });
    expect(ctx.feeds.get('x')?.dims).toEqual([2, 3, 5, 7]);
    expect(ctx.sources[0].source).toMatch(/^synthetic/);
    expect(ctx.notices[0]).toContain("input 'x' is [N,3,H,W]: using shape [2,3,5,7] from");
  });

  it('with nothing to fix them, asks for --shape in one sentence', async () => {
    const error = await openModel({ modelPath: allDynamic }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      "Input 'x' has dynamic dimensions (shape [N,3,H,W]); give its shape with --shape x=1x3x1x1 or a tensor with --input.",
    );
  });

  it('the terminal UI opens the graph of a model nothing fixes the shape of, and its jobs say why they cannot run', async () => {
    const session = await openSession({ model: { modelPath: allDynamic }, quant: {} } as Parameters<typeof openSession>[0]);
    expect(session.ctx.graph.nodes.map((n) => n.name)).toEqual(['conv', 'relu']);
    expect(session.inputLabels).toEqual(['no inputs yet (give --input, --calib or --shape)']);
    const job = executeJob(
      { session },
      { kind: 'compare', edits: [] } as unknown as Parameters<typeof executeJob>[1],
      () => {},
      new AbortController().signal,
    );
    await expect(job).rejects.toThrow(
      "Input 'x' has dynamic dimensions (shape [N,3,H,W]); give its shape with --shape x=1x3x1x1 or a tensor with --input.",
    );
  });

  it('the terminal UI opens a model whose batch is dynamic', async () => {
    const session = await openSession({ model: { modelPath: batchOnly }, quant: {} } as Parameters<typeof openSession>[0]);
    expect(session.ctx.graph.nodes.map((n) => n.name)).toEqual(['conv', 'relu']);
  });
});

describe('emit on a dynamic model calibrated on images', () => {
  it('takes the size from the images, records their preprocessing, and says its metrics come from a synthetic input', async () => {
    const images = [await png(path.join(work, 'a.png'), 12, 10), await png(path.join(work, 'b.png'), 12, 10)];
    const out = path.join(work, 'emitted', 'all-dynamic.int8.onnx');
    const r = await runCliInProcess(['emit', allDynamic, '--calib', ...images, '--out', out], {
      env: { QUANTSCOPE_CACHE: path.join(work, 'cache') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("input 'x' is [N,3,H,W]: using shape [1,3,10,12] from");
    expect(r.stdout).toMatch(/^y vs float on a synthetic input \(give --input or --eval for real data\): cosine/m);
    const manifest = JSON.parse(readFileSync(out.replace(/\.onnx$/, '.manifest.json'), 'utf8')) as {
      preprocessing: { inputs: string[] } | null;
    };
    expect(manifest.preprocessing?.inputs).toEqual(['x']);
  });

  it('in-process, a manifest for an image-calibrated emit is not without preprocessing', async () => {
    const images = [await png(path.join(work, 'c.png'), 8, 8)];
    const ctx = await openModel({ modelPath: batchOnly });
    const setup = await setUpQuant(ctx, { calib: images });
    const result = await emitModel({ ctx, setup, out: path.join(work, 'emitted', 'batch-only.int8.onnx') });
    expect(result.manifest.preprocessing).not.toBeNull();
  });
});
