import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelContext } from '../src/app/context.js';
import { emitModel, emitTag } from '../src/app/emit/emit.js';
import { EmitVerificationError, verifyEmittedModel } from '../src/app/emit/emit-verify.js';
import { quantBackendFor, quantSource } from '../src/app/quantize.js';
import type { QuantSetup } from '../src/app/quant-setup.js';
import { OrtSession } from '../src/backends/session.js';
import { ExitCode } from '../src/core/errors.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { readModel } from '../src/store/model-file.js';
import { editModel, graphOf, initializerTensor, serializeModel, type ModelEdit, type OnnxModel } from '../src/onnx/index.js';
import type { Override } from '../src/quant/plan.js';
import type { EmitManifest, EmitQuantFile } from '../src/store/emit-files.js';
import { REPO } from './helpers/cli.js';
import { openWithPlan, writeSyntheticCalibration } from './helpers/quant-setup.js';

const previousCache = process.env.QUANTSCOPE_CACHE;
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qs-app-emit-'));
  process.env.QUANTSCOPE_CACHE = join(dir, 'cache');
});

afterAll(() => {
  if (previousCache === undefined) delete process.env.QUANTSCOPE_CACHE;
  else process.env.QUANTSCOPE_CACHE = previousCache;
});

async function setUp(model: string, profile: string, overrides: Override[] = []): Promise<{ ctx: ModelContext; setup: QuantSetup }> {
  const calib = writeSyntheticCalibration(join(REPO, model), join(dir, 'calib', model.replace(/\W/g, '_')), [1, 2, 3]);
  return openWithPlan(join(REPO, model), { profile, overrides, calib });
}

async function quantOutputs(ctx: ModelContext, setup: QuantSetup): Promise<Map<string, Tensor>> {
  const backend = await quantBackendFor(ctx, setup.plan, setup.calibration);
  try {
    return await backend.run(ctx.feeds, []);
  } finally {
    await backend.dispose();
  }
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe.each([
  ['fixtures/opset13-convnet.onnx', 'com.microsoft'],
  ['fixtures/opset21-convnet.onnx', ''],
  ['fixtures/opset7-old-ir.onnx', 'com.microsoft'],
])('emit %s', (model, domain) => {
  it.each<[string, Override[]]>([
    ['generic-int8', []],
    ['int8-fp16', []],
    ['generic-int8', [['*', 'int16']]],
  ])('%s %j: three files, verified, reproducing the quant backend', async (profile, overrides) => {
    const { ctx, setup } = await setUp(model, profile, overrides);
    const out = join(dir, `${ctx.modelName}-${profile}-${overrides.length}`, 'model.onnx');
    const result = await emitModel({ ctx, setup, out });
    expect(result.paths).toEqual({
      model: out,
      quant: out.replace(/\.onnx$/, '.quant.json'),
      manifest: out.replace(/\.onnx$/, '.manifest.json'),
    });
    const folder = join(out, '..');
    expect(readdirSync(folder).sort()).toEqual(['model.manifest.json', 'model.onnx', 'model.quant.json']);

    // A model below opset 11 is written converted to it: onnxruntime fuses its QDQ patterns into
    // QLinearConv (opset 10) and Round (opset 11), so with its source opset it would load only
    // with a session option.
    expect(graphOf(readModel(out)).opsets.get('')).toBeGreaterThanOrEqual(11);

    // Standard Q/DQ from opset 21, com.microsoft below.
    const written = readModel(out);
    const qdq = graphOf(written).nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
    expect(qdq.length).toBeGreaterThan(0);
    expect(new Set(qdq.map((n) => n.domain))).toEqual(new Set([domain]));
    expect(result.verification.precision.qdqDomains).toEqual([domain]);

    // A fresh session of the written file reproduces the quant backend exactly.
    const expected = await quantOutputs(ctx, setup);
    const session = await OrtSession.createWithDefaults(readFileSync(out), out);
    try {
      const got = await session.run(ctx.feeds);
      for (const o of ctx.graph.outputs) {
        const a = got.get(o.name) as Tensor;
        const b = expected.get(o.name) as Tensor;
        expect(a.dims).toEqual(b.dims);
        expect([...(a.data as Float32Array)]).toEqual([...(b.data as Float32Array)]);
      }
    } finally {
      await session.dispose();
    }

    const manifest = JSON.parse(readFileSync(result.paths.manifest, 'utf8')) as EmitManifest;
    expect(manifest.model).toEqual({ file: 'model.onnx', sha256: sha256(out), quantFile: 'model.quant.json' });
    expect(manifest.source.sha256).toBe(sha256(join(REPO, model)));
    expect(manifest.inputs).toEqual([{ name: 'x', shape: [1, 3, 16, 16], dtype: 'float32', layout: 'NCHW' }]);
    expect(manifest.outputs.map((o) => o.name)).toEqual(ctx.graph.outputs.map((o) => o.name));
    expect(manifest.profile.name).toBe(profile);
    expect(manifest.plan).toMatchObject({ overrides });
    expect(manifest.cost).toMatchObject({ macShareAboveInt8: overrides.length > 0 ? 1 : 0 });
    const evaluation = manifest.evaluation as { outputs: { name: string; cosine: number }[] };
    expect(evaluation.outputs[0].cosine).toBeCloseTo(result.metrics[0].metrics.cosine, 12);
    expect(evaluation.outputs[0].cosine).toBeGreaterThan(0.999);
    expect(manifest.verification).toMatchObject({ nodesChecked: ctx.graph.nodes.length, precisionMismatches: 0 });

    const quant = JSON.parse(readFileSync(result.paths.quant, 'utf8')) as EmitQuantFile;
    expect(quant.nodes.map((n) => n.name)).toEqual(ctx.graph.nodes.map((n) => n.name));
    for (const n of quant.nodes) expect(n.precision).toBe(setup.plan.precision.get(n.name));
    const bits = overrides.length > 0 ? 16 : 8;
    const weights = quant.tensors.filter((t) => t.kind === 'weight');
    expect(weights.map((w) => w.node).sort()).toEqual(
      ctx.graph.nodes
        .filter((n) => n.opType === 'Conv' || n.opType === 'Gemm')
        .map((n) => n.name)
        .sort(),
    );
    for (const w of weights) {
      expect(w.bits).toBe(bits);
      // generic-int8 quantizes weights per output channel, int8-fp16 per tensor.
      if (profile === 'generic-int8') expect(Array.isArray(w.scale) && w.axis !== null).toBe(true);
      else expect(typeof w.scale === 'number' && w.axis === null).toBe(true);
    }
    const activations = quant.tensors.filter((t) => t.kind === 'activation');
    expect(activations.length).toBeGreaterThan(0);
    for (const a of activations) {
      expect(a.bits).toBe(bits);
      expect(a.range).not.toBeNull();
      expect(a.range && a.range.min <= a.range.max).toBe(true);
      // The scale in quant.json is the one in the model.
      const dq = graphOf(written).producer.get(a.tensor);
      if (dq?.opType === 'DequantizeLinear') expect((initializerTensor(written, dq.inputs[1]).data as Float32Array)[0]).toBe(a.scale);
    }
  });
});

describe('emit on the demo model', () => {
  it('default file name: models/<name>.<tag>.onnx, tag the profile or mixed', async () => {
    const plain = await setUp('models/demo-generator.onnx', 'generic-int8');
    expect(emitTag(plain.ctx, plain.setup.plan)).toBe('generic-int8');
    const mixed = await setUp('models/demo-generator.onnx', 'generic-int8', [['fuse_conv', 'int16']]);
    expect(emitTag(mixed.ctx, mixed.setup.plan)).toBe('mixed');
    const result = await emitModel({ ctx: mixed.ctx, setup: mixed.setup, outDir: join(dir, 'models') });
    expect(result.paths.model).toBe(join(dir, 'models', 'demo-generator.mixed.onnx'));
    expect(existsSync(result.paths.quant) && existsSync(result.paths.manifest)).toBe(true);
    expect(result.metrics[0].metrics.cosine).toBeGreaterThan(0.999);
    const nodes = Object.fromEntries(result.verification.precision.nodes.map((n) => [n.node, n.found]));
    expect(nodes.fuse_conv).toBe('int16');
    expect(nodes.enc_c_conv1).toBe('int8');
  });

  it('refuses to overwrite the source model', async () => {
    const { ctx, setup } = await setUp('models/demo-generator.onnx', 'generic-int8');
    await expect(emitModel({ ctx, setup, out: ctx.loaded.path })).rejects.toThrow(/would overwrite the source model/);
  });
});

describe('verification catches an emitted file edited after the fact', () => {
  /** Emits the demo under a plan and returns what a verification needs. */
  async function emitted(profile: string, overrides: Override[]) {
    const { ctx, setup } = await setUp('models/demo-generator.onnx', profile, overrides);
    const out = join(dir, `tamper-${profile}-${overrides.length}`, 'demo.onnx');
    await emitModel({ ctx, setup, out });
    const expected = await quantOutputs(ctx, setup);
    const verify = (file: string) =>
      verifyEmittedModel({
        file,
        source: quantSource(ctx).graph,
        plan: setup.plan,
        values: quantSource(ctx).values,
        feeds: ctx.feeds,
        expected,
      });
    return { out, model: readModel(out), verify };
  }

  function tamper(model: OnnxModel, out: string, edit: ModelEdit): string {
    const file = out.replace(/\.onnx$/, '.tampered.onnx');
    writeFileSync(file, serializeModel(editModel(model, edit)));
    return file;
  }

  it('passes the untouched file', async () => {
    const { out, verify } = await emitted('generic-int8', [['fuse_conv', 'int16']]);
    const v = await verify(out);
    expect(v.precision.mismatches).toEqual([]);
    expect(v.outputs.every((o) => o.identical)).toBe(true);
  });

  it("an int16 zero point swapped for int8 on fuse_conv's input Q/DQ", async () => {
    const { out, model, verify } = await emitted('generic-int8', [['fuse_conv', 'int16']]);
    const g = graphOf(model);
    const conv = g.nodes.find((n) => n.name === 'fuse_conv');
    const dq = g.producer.get(conv?.inputs[0] ?? '');
    expect(dq?.opType).toBe('DequantizeLinear');
    const zp = dq?.inputs[2] as string;
    expect(initializerTensor(model, zp).dtype).toBe('int16');
    const file = tamper(model, out, { setInitializers: [{ name: zp, tensor: makeTensor('int8', [], new Int8Array(1)) }] });
    const error = await verify(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmitVerificationError);
    const e = error as EmitVerificationError;
    expect(e.exitCode).toBe(ExitCode.internal);
    expect(e.mismatches.join('\n')).toMatch(/node 'fuse_conv' \(Conv, planned int16\): it reads 'branch_concat_out' as int8, not int16/);
    expect(e.mismatches.join('\n')).toMatch(/output 'image' differs from the quant backend's/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('a removed Cast round trip under int8-fp16', async () => {
    const { out, model, verify } = await emitted('int8-fp16', []);
    const g = graphOf(model);
    // out_tanh (fp16) stores its output through Cast(float16) → Cast(float); drop that round trip.
    const outer = g.producer.get('out_tanh_out');
    const inner = g.producer.get(outer?.inputs[0] ?? '');
    expect(outer?.opType).toBe('Cast');
    expect(inner?.opType).toBe('Cast');
    const raw = inner?.inputs[0] as string;
    const file = tamper(model, out, {
      removeNodes: [outer?.name as string, inner?.name as string],
      setNodeOutputs: { out_tanh: ['out_tanh_out'] },
    });
    expect(raw).not.toBe('out_tanh_out');
    const error = await verify(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmitVerificationError);
    expect((error as EmitVerificationError).mismatches[0]).toMatch(
      /node 'out_tanh' \(Tanh, planned fp16\): its output 'out_tanh_out' is stored as fp32, not fp16/,
    );
  });
});
