import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeMetrics } from '../src/analysis/metrics.js';
import { pairTensors } from '../src/analysis/tensor-pairs.js';
import { compareModels } from '../src/app/compare/compare-models.js';
import { openModel } from '../src/app/context.js';
import { emitModel } from '../src/app/emit/emit.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { makeTensor } from '../src/core/tensor.js';
import { loadModel } from '../src/app/load-model.js';
import { createModel, writeModel, type ModelSpec } from '../src/onnx/index.js';
import { writeFileAtomic } from '../src/core/atomic-file.js';
import { REPO, isolatedCache, runCli } from './helpers/cli.js';

/**
 * Model against model (issue 17): a model and its rewrite run on the same inputs and are paired
 * tensor by tensor; a QDQ model made by emit and a hand-built QOperator model are mapped back to
 * the float model's names, as onnxruntime's qdq_loss_debug does.
 */

const work = isolatedCache('qs-models-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const f32 = (values: number[], dims: number[]) => makeTensor('float32', dims, Float32Array.from(values));

/** x [1,2,4,4] -> conv1 (2->3, 1x1) -> relu -> conv2 (3->2, 1x1) -> y; `relu` as Relu, or as Max(c, 0) under another name. */
function chain(name: string, options: { maxForRelu?: boolean; w2?: number[] } = {}): string {
  const spec: ModelSpec = {
    name,
    opsets: { '': 13 },
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 4, 4] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2, 4, 4] }],
    nodes: [
      { name: 'conv1', opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'] },
      options.maxForRelu
        ? { name: 'max0', opType: 'Max', inputs: ['c1', 'zero'], outputs: ['r1_max'] }
        : { name: 'relu', opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { name: 'conv2', opType: 'Conv', inputs: [options.maxForRelu ? 'r1_max' : 'r1', 'w2'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'w1', tensor: f32([0.5, -1, 0.25, 2, -0.75, 1.5], [3, 2, 1, 1]) },
      { name: 'b1', tensor: f32([0.1, -0.2, 0.3], [3]) },
      { name: 'w2', tensor: f32(options.w2 ?? [1, 0.5, -0.25, -1, 0.75, 0.125], [2, 3, 1, 1]) },
      ...(options.maxForRelu ? [{ name: 'zero', tensor: f32([0], []) }] : []),
    ],
  };
  const file = join(work, `${name}.onnx`);
  writeModel(createModel(spec), file);
  return file;
}

const original = chain('original');
const rewrite = chain('rewrite', { maxForRelu: true });
const planted = chain('planted', { w2: [1, 0.5, -0.25, -1, 0.75, 0.5] });

describe('a model against its rewrite', () => {
  it('a subgraph replaced by equivalent ops matches exactly, the renamed tensor paired by --map', async () => {
    const map = join(work, 'map.json');
    writeFileAtomic(map, JSON.stringify({ r1: 'r1_max' }), { fsync: false });
    const ctx = await openModel({ modelPath: original });
    const result = await compareModels({ ctx, testModel: rewrite, mapFile: map });
    expect(result.pairs.map((p) => [p.ref, p.test, p.kind])).toEqual([
      ['c1', 'c1', 'name'],
      ['r1', 'r1_max', 'map'],
      ['y', 'y', 'name'],
    ]);
    for (const row of result.report.rows) expect([row.tensor, row.metrics?.maxAbs, row.pass]).toEqual([row.tensor, 0, true]);
    expect(result.gatePasses).toBe(true);
    expect(result.report.firstFailing).toBeNull();
  });

  it('without --map the renamed tensor is left out with a note, and nothing else changes', async () => {
    const ctx = await openModel({ modelPath: original });
    const result = await compareModels({ ctx, testModel: rewrite });
    expect(result.report.rows.map((r) => r.tensor)).toEqual(['c1', 'y']);
    expect(result.notes.join('\n')).toContain('1 tensor(s) of the reference have no counterpart in the test model');
  });

  it('a planted difference in one weight is found where it starts', async () => {
    const ctx = await openModel({ modelPath: original });
    const result = await compareModels({ ctx, testModel: planted });
    expect(result.report.firstFailing).toBe('y');
    expect(result.report.rows.find((r) => r.tensor === 'c1')?.metrics?.maxAbs).toBe(0);
    expect(result.gatePasses).toBe(false);
  });

  it('the CLI takes the second model as a positional or --test-model, and refuses quantization options', () => {
    const env = { QUANTSCOPE_CACHE: join(work, 'cli-cache') };
    const a = runCli(['compare', original, planted, '--json', '--fail-under'], { env });
    expect(a.code, a.stderr).toBe(1);
    expect((JSON.parse(a.stdout) as { firstFailing: string }).firstFailing).toBe('y');
    const b = runCli(['compare', original, '--test-model', rewrite, '--quiet'], { env });
    expect(b.code, b.stderr).toBe(0);
    const c = runCli(['compare', original, rewrite, '--profile', 'int8-fp16'], { env });
    expect(c.code).toBe(2);
    expect(c.stderr).toBe(
      "quantscope: --profile sets up quantscope's own quantization; it has no effect when comparing two models as they are (give --ref-backend quant or --test-backend quant to use it).\n",
    );
  });
});

describe("either side through quantscope's quantized backend", () => {
  it('a model against itself with --test-backend quant measures what compare measures, tensor by tensor', () => {
    const env = { QUANTSCOPE_CACHE: join(work, 'quant-cache') };
    const demo = join(REPO, 'models', 'demo-generator.onnx');
    const models = runCli(['compare', demo, demo, '--test-backend', 'quant', '--json'], { env });
    expect(models.code, models.stderr).toBe(0);
    const own = runCli(['compare', demo, '--json', '--no-own', '--no-achievable'], { env });
    expect(own.code, own.stderr).toBe(0);
    type Rows = { rows: { tensor: string; metrics: { snrDb: number | string } | null }[] };
    const a = (JSON.parse(models.stdout) as Rows).rows.map((r) => [r.tensor, r.metrics?.snrDb]);
    const b = (JSON.parse(own.stdout) as Rows).rows.map((r) => [r.tensor, r.metrics?.snrDb]);
    expect(a.length).toBeGreaterThan(30);
    expect(a).toEqual(b);
  });
});

describe('a quantized ONNX made elsewhere as the test side', () => {
  it("quantscope's own QDQ model: outputs measure as emit's fresh-session verification did, tensors mapped through DequantizeLinear", async () => {
    const ctx = await openModel({ modelPath: join(REPO, 'models', 'demo-generator.onnx') });
    const setup = await setUpQuant(ctx, {});
    const emitted = await emitModel({ ctx, setup, out: join(work, 'emitted', 'demo.int8.onnx') });
    const result = await compareModels({ ctx, testModel: emitted.paths.model });
    const kinds = new Set(result.pairs.map((p) => p.kind));
    expect(kinds.has('dequantized')).toBe(true);
    for (const o of emitted.metrics) {
      const row = result.report.rows.find((r) => r.tensor === o.name);
      expect(row?.metrics?.snrDb).toBe(o.metrics.snrDb);
      expect(row?.metrics?.cosine).toBe(o.metrics.cosine);
    }
  });

  it('a QOperator model: QuantizeLinear and QLinearConv outputs dequantized with their own scales, checked by hand', async () => {
    // Reference: x [1,1,2,4] -> Conv (w = 2) -> c -> Relu -> y.
    const x = [0.03, 0.5, -0.26, 1.1, 0.77, -0.9, 0.2, 0.41];
    const refSpec: ModelSpec = {
      name: 'qref',
      opsets: { '': 13 },
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 2, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 2, 4] }],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
        { name: 'relu', opType: 'Relu', inputs: ['c'], outputs: ['y'] },
      ],
      initializers: [{ name: 'w', tensor: f32([2], [1, 1, 1, 1]) }],
    };
    const u8 = (v: number) => makeTensor('uint8', [], Uint8Array.from([v]));
    const s = (v: number) => f32([v], []);
    const [xs, xzp, ws, wzp, cs, czp] = [0.01, 128, 0.02, 128, 0.025, 128];
    const testSpec: ModelSpec = {
      name: 'qop',
      opsets: { '': 13 },
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, 2, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1, 2, 4] }],
      nodes: [
        { name: 'quant', opType: 'QuantizeLinear', inputs: ['x', 'x_scale', 'x_zp'], outputs: ['x_quantized'] },
        {
          name: 'qconv',
          opType: 'QLinearConv',
          inputs: ['x_quantized', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'c_scale', 'c_zp'],
          outputs: ['c_quantized'],
        },
        { name: 'dequant', opType: 'DequantizeLinear', inputs: ['c_quantized', 'c_scale', 'c_zp'], outputs: ['c_dq'] },
        { name: 'relu', opType: 'Relu', inputs: ['c_dq'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'x_scale', tensor: s(xs) },
        { name: 'x_zp', tensor: u8(xzp) },
        { name: 'w_q', tensor: makeTensor('uint8', [1, 1, 1, 1], Uint8Array.from([228])) }, // (228 - 128) * 0.02 = 2
        { name: 'w_scale', tensor: s(ws) },
        { name: 'w_zp', tensor: u8(wzp) },
        { name: 'c_scale', tensor: s(cs) },
        { name: 'c_zp', tensor: u8(czp) },
      ],
    };
    const refFile = join(work, 'qref.onnx');
    const testFile = join(work, 'qop.onnx');
    writeModel(createModel(refSpec), refFile);
    writeModel(createModel(testSpec), testFile);
    const input = join(work, 'x.npy');
    const { writeNpy } = await import('../src/store/npy.js');
    writeNpy(input, f32(x, [1, 1, 2, 4]), { fsync: false });

    const ctx = await openModel({ modelPath: refFile, inputs: [`x=${input}`] });
    const result = await compareModels({ ctx, testModel: testFile });
    expect(result.pairs.map((p) => [p.ref, p.test, p.kind])).toEqual([
      ['x', 'x_quantized', 'qoperator'],
      ['c', 'c_quantized', 'qoperator'],
      ['y', 'y', 'name'],
    ]);
    // By hand: quantize x, multiply in integers, requantize, dequantize.
    const clamp = (v: number) => Math.min(255, Math.max(0, v));
    const round = (v: number) => (Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
    const qx = x.map((v) => clamp(round(v / xs) + xzp));
    const xd = qx.map((q) => (q - xzp) * xs);
    const cd = qx.map((q) => (clamp(round(((q - xzp) * (228 - wzp) * xs * ws) / cs) + czp) - czp) * cs);
    const refC = f32(
      x.map((v) => Math.fround(2 * v)),
      [1, 1, 2, 4],
    );
    const row = (t: string) => result.report.rows.find((r) => r.tensor === t)?.metrics;
    // Within float32 rounding of the requantization (onnxruntime multiplies in float32).
    const near = (a: number | undefined, b: number) => expect(Math.abs((a ?? NaN) - b)).toBeLessThanOrEqual(1e-4 * b + 1e-12);
    near(row('x')?.mse, computeMetrics(f32(x, [1, 1, 2, 4]), f32(xd, [1, 1, 2, 4])).mse);
    near(row('c')?.mse, computeMetrics(refC, f32(cd, [1, 1, 2, 4])).mse);
    expect(row('c')?.maxAbs).toBeGreaterThan(0);
  });
});

describe('pairTensors', () => {
  it('pairs each tensor once, by the first rule that applies', () => {
    const ref = loadModel(original).graph;
    const test = loadModel(rewrite).graph;
    const pairs = pairTensors(ref, test, { map: { r1: 'r1_max', c1: 'y' } });
    // c1 -> y by the map; so y (taken) is not paired again, by name or by output position.
    expect(pairs.map((p) => [p.ref, p.test, p.kind])).toEqual([
      ['x', 'x', 'name'],
      ['c1', 'y', 'map'],
      ['r1', 'r1_max', 'map'],
    ]);
  });
});
