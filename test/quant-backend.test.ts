import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatBackendFor, type ModelContext } from '../src/app/context.js';
import { qdqModel, quantBackendFor } from '../src/app/quantize.js';
import type { QuantSetup } from '../src/app/quant-setup.js';
import { computeMetrics, type Metrics } from '../src/analysis/metrics.js';
import type { Tensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { createModel, graphOf, writeModel } from '../src/onnx/index.js';
import type { Override } from '../src/quant/plan.js';
import int8Fp16 from '../src/quant/profiles/int8-fp16.json' with { type: 'json' };
import { REPO } from './helpers/cli.js';
import { openWithPlan, writeSyntheticCalibration } from './helpers/quant-setup.js';

/**
 * The quant backend end to end on the generated models: calibrated on synthetic inputs of seeds
 * 1-3, evaluated on the synthetic input of seed 0 (never on the calibration data).
 */

const previousCache = process.env.QUANTSCOPE_CACHE;
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qs-quant-backend-'));
  process.env.QUANTSCOPE_CACHE = join(dir, 'cache');
});

function calibFor(model: string): string[] {
  return writeSyntheticCalibration(join(REPO, model), join(dir, model.replace(/\W/g, '_')), [1, 2, 3]);
}

afterAll(() => {
  if (previousCache === undefined) delete process.env.QUANTSCOPE_CACHE;
  else process.env.QUANTSCOPE_CACHE = previousCache;
});

async function runBoth(
  ctx: ModelContext,
  setup: QuantSetup,
  taps: string[] = [],
): Promise<{ float: Map<string, Tensor>; quant: Map<string, Tensor> }> {
  const f = await floatBackendFor(ctx);
  const q = await quantBackendFor(ctx, setup.plan, setup.calibration);
  try {
    return { float: await f.run(ctx.feeds, taps), quant: await q.run(ctx.feeds, taps) };
  } finally {
    await f.dispose();
    await q.dispose();
  }
}

async function outputMetrics(model: string, profile: string, overrides: Override[]): Promise<{ m: Metrics; domain: string }> {
  const { ctx, setup } = await openWithPlan(join(REPO, model), { profile, overrides, calib: calibFor(model) });
  const { float, quant } = await runBoth(ctx, setup);
  const out = ctx.graph.outputs[0].name;
  return {
    m: computeMetrics(float.get(out) as Tensor, quant.get(out) as Tensor),
    domain: qdqModel(ctx, setup.plan, setup.calibration, []).qdqDomain,
  };
}

function identical(a: Tensor, b: Tensor): boolean {
  return a.data.length === b.data.length && a.data.every((v, i) => Object.is(v, b.data[i]));
}

describe('quant backend on the opset-13 and opset-21 fixtures', () => {
  it.each([
    ['fixtures/opset13-convnet.onnx', 'com.microsoft'],
    ['fixtures/opset21-convnet.onnx', ''],
  ])('%s: int8 close to float, int16 closer, Q/DQ domain %j', async (model, domain) => {
    const int8 = await outputMetrics(model, 'generic-int8', []);
    const int16 = await outputMetrics(model, 'generic-int8', [['*', 'int16']]);
    const fp16 = await outputMetrics(model, 'int8-fp16', []);
    console.log(
      `${model}: int8 cosine ${int8.m.cosine.toFixed(6)} SNR ${int8.m.snrDb.toFixed(1)} dB; int8-fp16 cosine ${fp16.m.cosine.toFixed(6)} SNR ${fp16.m.snrDb.toFixed(1)} dB; int16 cosine ${int16.m.cosine.toFixed(8)} SNR ${int16.m.snrDb.toFixed(1)} dB`,
    );
    expect(int8.domain).toBe(domain);
    expect(int16.domain).toBe(domain);
    expect(int8.m.cosine).toBeGreaterThan(0.999);
    expect(int8.m.cosine).toBeLessThan(1);
    expect(fp16.m.cosine).toBeGreaterThan(0.999);
    expect(int16.m.cosine).toBeGreaterThan(0.99999);
    // INT16 ranges are min/max of the calibration data, so the evaluation input can still clip a little.
    expect(int16.m.snrDb).toBeGreaterThan(int8.m.snrDb + 15);
  });
});

describe('quant backend on the demo model', () => {
  it('plain INT8 visibly fails; INT16 on the hazard node fuse_conv brings it back', async () => {
    const int8 = await outputMetrics('models/demo-generator.onnx', 'generic-int8', []);
    const fixed = await outputMetrics('models/demo-generator.onnx', 'generic-int8', [['fuse_conv', 'int16']]);
    const all16 = await outputMetrics('models/demo-generator.onnx', 'generic-int8', [['*', 'int16']]);
    console.log(
      `demo: int8 cosine ${int8.m.cosine.toFixed(5)} SNR ${int8.m.snrDb.toFixed(1)} dB; fuse_conv=int16 cosine ${fixed.m.cosine.toFixed(5)} SNR ${fixed.m.snrDb.toFixed(1)} dB; all int16 cosine ${all16.m.cosine.toFixed(6)}`,
    );
    expect(int8.m.cosine).toBeLessThan(0.99);
    expect(fixed.m.cosine).toBeGreaterThan(0.999);
    expect(all16.m.cosine).toBeGreaterThan(fixed.m.cosine);
  });
});

describe('fusion in the quant backend (conv-in-relu: conv1 → norm1 → relu1 fused, then conv2)', () => {
  it('a tap inside the group changes the final output; a tap at the group output does not', async () => {
    const { ctx, setup } = await openWithPlan(join(REPO, 'fixtures/conv-in-relu.onnx'), {
      profile: 'generic-int8',
      calib: calibFor('fixtures/conv-in-relu.onnx'),
    });
    const backend = await quantBackendFor(ctx, setup.plan, setup.calibration);
    try {
      const y = (taps: string[]) => backend.run(ctx.feeds, taps).then((out) => out.get('y') as Tensor);
      const untapped = await y([]);
      const atConv = await y(['conv1_out']);
      const atNorm = await y(['norm1_out']);
      const atGroupOutput = await y(['relu1_out']);
      // The tap splits the group after the Conv and requantizes conv1_out to int8 there.
      expect(identical(atConv, untapped)).toBe(false);
      expect(identical(atNorm, untapped)).toBe(false);
      expect(identical(atGroupOutput, untapped)).toBe(true);
      const m = computeMetrics(untapped, atConv);
      expect(m.maxAbs).toBeGreaterThan(0);
      expect(m.cosine).toBeGreaterThan(0.99);
    } finally {
      await backend.dispose();
    }
  });

  it('the tapped model stores conv1_out through a Q/DQ pair; the untapped one keeps it raw', async () => {
    const { ctx, setup } = await openWithPlan(join(REPO, 'fixtures/conv-in-relu.onnx'), {
      profile: 'generic-int8',
      calib: calibFor('fixtures/conv-in-relu.onnx'),
    });
    const producerOf = (taps: string[]) =>
      graphOf(qdqModel(ctx, setup.plan, setup.calibration, taps).model).producer.get('conv1_out')?.opType;
    expect(producerOf([])).toBe('Conv');
    expect(producerOf(['conv1_out'])).toBe('DequantizeLinear');
  });
});

describe('fp16 accumulation (reducemean-overflow: planted_mean sums about 163,840 > 65504)', () => {
  const taps = ['planted_mean_out', 'center_out'];

  async function measured(profile: string) {
    const { ctx, setup } = await openWithPlan(join(REPO, 'fixtures/reducemean-overflow.onnx'), {
      profile,
      calib: calibFor('fixtures/reducemean-overflow.onnx'),
    });
    const { float, quant } = await runBoth(ctx, setup, taps);
    return Object.fromEntries([...taps, 'y'].map((t) => [t, computeMetrics(float.get(t) as Tensor, quant.get(t) as Tensor)]));
  }

  it('int8-fp16 turns the mean and everything computed from it infinite', async () => {
    const m = await measured('int8-fp16');
    expect(m.planted_mean_out.infTest).toBe(2);
    expect(m.planted_mean_out.infRef).toBe(0);
    expect(m.center_out.nonFiniteIntroduced).toBe(2 * 64 * 64);
    // post_conv's QuantizeLinear saturates the −Inf input to −127, so the output is finite but wrong.
    expect(m.y.nonFiniteIntroduced).toBe(0);
    expect(m.y.cosine).toBeLessThan(0.99);
  });

  it('generic-int8 (fp32 float ops) keeps it finite and close', async () => {
    const m = await measured('generic-int8');
    for (const t of [...taps, 'y']) expect(m[t].nonFiniteIntroduced, t).toBe(0);
    expect(m.y.cosine).toBeGreaterThan(0.999);
  });

  it('the Inf comes from the accumulation: fp16 storage with an fp32 sum stays finite', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'qs-profile-')), 'fp16-fp32sum.json');
    writeFileSync(file, JSON.stringify({ ...int8Fp16, name: 'fp16-fp32sum', reduceAccumulation: 'fp32' }));
    const m = await measured(file);
    expect(m.planted_mean_out.nonFiniteIntroduced).toBe(0);
    expect(m.y.nonFiniteIntroduced).toBe(0);
  });
});

describe('fp16 accumulation across opsets and reductions', () => {
  /** The reducemean-overflow pattern (values 40 ± 1 over 64x64, sum 163,840) with another reduction or opset. */
  function overflowModel(opset: number, reduction: 'ReduceMean' | 'ReduceMean keepdims 0' | 'GlobalAveragePool'): string {
    const b = new GraphBuilder({ name: 'overflow', opset, irVersion: 7, seed: 31 });
    const x = b.input('x', [1, 2, 64, 64]);
    const v = b.add(b.tanh(b.mul(x, 0.05, { name: 'squash_scale' }), { name: 'squash' }), 40, { name: 'offset' });
    const mean =
      reduction === 'GlobalAveragePool'
        ? b.globalAveragePool(v, { name: 'planted_mean' })
        : b.reduceMean(v, reduction === 'ReduceMean' ? [2, 3] : [-1, -2], { name: 'planted_mean', keepdims: reduction === 'ReduceMean' });
    b.output(b.mul(mean, 0.5, { name: 'half', out: 'y' }));
    const file = join(dir, `overflow-${opset}-${reduction.replace(/\W/g, '_')}.onnx`);
    writeModel(createModel(b.build()), file);
    return file;
  }

  it.each<[number, 'ReduceMean' | 'ReduceMean keepdims 0' | 'GlobalAveragePool']>([
    [11, 'ReduceMean'],
    [13, 'GlobalAveragePool'],
    [18, 'ReduceMean'],
    [18, 'ReduceMean keepdims 0'],
  ])('opset %i %s: infinite under int8-fp16, finite under generic-int8', async (opset, reduction) => {
    const file = overflowModel(opset, reduction);
    for (const [profile, infinite] of [
      ['int8-fp16', 2],
      ['generic-int8', 0],
    ] as const) {
      const { ctx, setup } = await openWithPlan(file, { profile });
      const { float, quant } = await runBoth(ctx, setup, ['planted_mean_out']);
      expect(qdqModel(ctx, setup.plan, setup.calibration, []).notes).toEqual([]);
      expect(computeMetrics(float.get('y') as Tensor, quant.get('y') as Tensor).infTest, profile).toBe(infinite);
    }
  });
});
