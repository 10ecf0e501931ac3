import { describe, expect, it } from 'vitest';
import { computeMetrics } from '../src/analysis/metrics.js';
import { openModel, type ModelContext } from '../src/app/context.js';
import { ownOutputs } from '../src/app/compare/compare-own.js';
import { quantBackendFor } from '../src/app/quantize.js';
import { setUpQuant, type QuantSetup } from '../src/app/quant-setup.js';
import { graphOf } from '../src/onnx/index.js';
import { rangeFromTable } from '../src/quant/calibration-table.js';
import { resolvePlan } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { buildShadowModel, storagePrecisions, type ShadowInput } from '../src/quant/shadow.js';
import { toFloat32 } from '../src/core/tensor.js';
import { isolatedCache } from './helpers/cli.js';

isolatedCache('qs-shadow-cache-');

/** conv1 → norm1 → relu1 → conv2 (y), opset 13: generic-int8 fuses conv1, norm1 and relu1 into one kernel. */
const CONV_IN_RELU = 'fixtures/conv-in-relu.onnx';

async function setup(model: string, profile: string): Promise<{ ctx: ModelContext; quant: QuantSetup }> {
  const ctx = await openModel({ modelPath: model });
  const quant = await setUpQuant(ctx, { profile });
  return { ctx, quant };
}

function shadowInput(ctx: ModelContext, quant: QuantSetup, taps: string[], tensors: string[], prune = false): ShadowInput {
  return {
    model: ctx.loaded.model,
    graph: ctx.graph,
    plan: quant.plan,
    values: ctx.values,
    range: (t, bits) => rangeFromTable(quant.calibration, t, bits),
    taps: new Set(taps),
    tensors,
    prune,
  };
}

describe('storagePrecisions', () => {
  it.each([
    {
      name: 'taps on the outputs: the fused kernel stores only its end',
      profile: 'generic-int8',
      taps: ['y'],
      want: { relu1_out: 'int8', y: 'int8' },
    },
    {
      name: 'every tensor tapped: each Conv stores its output, float ops stay fp32',
      profile: 'generic-int8',
      taps: ['conv1_out', 'norm1_out', 'relu1_out', 'y'],
      want: { conv1_out: 'int8', y: 'int8' },
    },
    {
      name: 'int8-fp16: float ops store fp16',
      profile: 'int8-fp16',
      taps: ['conv1_out', 'norm1_out', 'relu1_out', 'y'],
      want: { conv1_out: 'int8', norm1_out: 'fp16', relu1_out: 'fp16', y: 'int8' },
    },
  ])('$name', async ({ profile, taps, want }) => {
    const ctx = await openModel({ modelPath: CONV_IN_RELU });
    const plan = resolvePlan(ctx.graph, loadProfile(profile));
    expect(Object.fromEntries(storagePrecisions({ graph: ctx.graph, plan, taps: new Set(taps), values: ctx.values }))).toEqual(want);
  });
});

describe('buildShadowModel', () => {
  it('clones a whole fused kernel for its end tensor and nothing for fp32 float ops', async () => {
    const { ctx, quant } = await setup(CONV_IN_RELU, 'generic-int8');
    const fused = buildShadowModel(shadowInput(ctx, quant, ['y'], ['relu1_out', 'y']));
    expect(fused.own.get('relu1_out')?.kind).toBe('shadow');
    const added = graphOf(fused.model).nodes.filter((n) => !ctx.graph.nodes.some((o) => o.name === n.name));
    // Q/DQ of x, the weight DQ and int32 bias DQ, Conv, InstanceNormalization, Relu, the storage Q/DQ; then conv2's clone.
    expect(added.filter((n) => ['Conv', 'InstanceNormalization', 'Relu'].includes(n.opType)).map((n) => n.opType)).toEqual([
      'Conv',
      'InstanceNormalization',
      'Relu',
      'Conv',
    ]);

    const split = buildShadowModel(
      shadowInput(ctx, quant, ['conv1_out', 'norm1_out', 'relu1_out', 'y'], ['conv1_out', 'norm1_out', 'relu1_out', 'y']),
    );
    expect(Object.fromEntries([...split.own].map(([t, s]) => [t, s.kind]))).toEqual({
      conv1_out: 'shadow',
      norm1_out: 'exact',
      relu1_out: 'exact',
      y: 'shadow',
    });
  });

  it('gives exact for a graph input and clones fp16 float ops under int8-fp16', async () => {
    const { ctx, quant } = await setup(CONV_IN_RELU, 'int8-fp16');
    const all = ['x', 'conv1_out', 'norm1_out', 'relu1_out', 'y'];
    const shadow = buildShadowModel(shadowInput(ctx, quant, all, all));
    expect(Object.fromEntries([...shadow.own].map(([t, s]) => [t, s.kind]))).toEqual({
      x: 'exact',
      conv1_out: 'shadow',
      norm1_out: 'shadow',
      relu1_out: 'shadow',
      y: 'shadow',
    });
  });

  it('a pruned shadow model outputs the own tensors alone and keeps only the float nodes they read', async () => {
    const { ctx, quant } = await setup(CONV_IN_RELU, 'generic-int8');
    const taps = ['conv1_out', 'norm1_out', 'relu1_out', 'y'];
    const pruned = buildShadowModel(shadowInput(ctx, quant, taps, ['conv1_out'], true));
    const g = graphOf(pruned.model);
    const own = pruned.own.get('conv1_out');
    expect(own?.kind).toBe('shadow');
    expect(g.outputs.map((o) => o.name)).toEqual([own?.kind === 'shadow' ? own.tensor : '']);
    for (const name of ['conv1', 'norm1', 'relu1', 'conv2']) expect(g.nodes.some((n) => n.name === name)).toBe(false);
    const later = graphOf(buildShadowModel(shadowInput(ctx, quant, taps, ['y'], true)).model);
    expect(['conv1', 'norm1', 'relu1'].every((name) => later.nodes.some((n) => n.name === name))).toBe(true);
    expect(later.nodes.some((n) => n.name === 'conv2')).toBe(false);
  });

  it('returns the float model unchanged when no tensor needs a clone', async () => {
    const { ctx, quant } = await setup(CONV_IN_RELU, 'generic-int8');
    const taps = ['conv1_out', 'norm1_out', 'relu1_out', 'y'];
    expect(buildShadowModel(shadowInput(ctx, quant, taps, ['norm1_out'], true)).model).toBe(ctx.loaded.model);
  });
});

describe('own outputs', () => {
  it.each([
    { name: 'split kernels', taps: ['conv1_out', 'norm1_out', 'relu1_out', 'y'], first: 'conv1_out' },
    { name: 'the fused Conv→InstanceNormalization→Relu kernel', taps: ['relu1_out', 'y'], first: 'relu1_out' },
  ])('equal the quant model where the inputs are exact ($name)', async ({ taps, first }) => {
    const { ctx, quant } = await setup(CONV_IN_RELU, 'generic-int8');
    const float = ctx.feeds;
    const own = await ownOutputs(ctx, quant, new Set(taps), taps, float);
    const backend = await quantBackendFor(ctx, quant.plan, quant.calibration);
    const q = await backend.run(ctx.feeds, taps);
    await backend.dispose();
    const ownFirst = own.tensors.get(first);
    const quantFirst = q.get(first);
    expect(ownFirst && quantFirst).toBeTruthy();
    // The kernel reads the graph input, which both models see exactly: own error is accumulated error.
    const a = toFloat32(ownFirst as never);
    const b = toFloat32(quantFirst as never);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('emulates the fp16 accumulation of a ReduceMean in its clone (its own output overflows)', async () => {
    const { ctx, quant } = await setup('fixtures/reducemean-overflow.onnx', 'int8-fp16');
    const own = await ownOutputs(ctx, quant, new Set(['planted_mean_out', 'center_out', 'y']), ['planted_mean_out', 'y'], ctx.feeds);
    expect(own.sources.get('planted_mean_out')?.kind).toBe('shadow');
    const mean = toFloat32(own.tensors.get('planted_mean_out') as never);
    expect([...mean].every((v) => v === Infinity)).toBe(true);
    expect(own.notes).toEqual([]);
  });

  it('a quantized kernel far from the inputs has a small own error even when its inputs drift (planted-source conv_c)', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx', 'generic-int8');
    const taps = ['planted_source_out', 'relu_b_out', 'conv_c_out'];
    const own = await ownOutputs(ctx, quant, new Set(taps), taps, ctx.feeds);
    const { FloatBackend } = await import('../src/backends/float.js');
    const fb = await FloatBackend.create(ctx.loaded.model);
    const f = await fb.run(ctx.feeds, taps);
    await fb.dispose();
    const cos = (t: string) => computeMetrics(f.get(t) as never, own.tensors.get(t) as never).cosine;
    expect(cos('planted_source_out')).toBeLessThan(0.9);
    expect(cos('conv_c_out')).toBeGreaterThan(0.999);
    expect(own.sources.get('relu_b_out')?.kind).toBe('exact');
  });
});
