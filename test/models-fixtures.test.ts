import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FloatBackend } from '../src/backends/float.js';
import { GENERATED_MODELS, generatedBytes } from '../src/models/catalog.js';
import { HOSTILE_NAMES } from '../src/models/fixtures-basic.js';
import { FIXTURES, fixtureByName } from '../src/models/fixtures.js';
import { readModel } from '../src/store/model-file.js';
import { createModel, graphOf, modelInfo } from '../src/onnx/index.js';
import { pixelFeeds } from './helpers/model-feeds.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

describe.each(GENERATED_MODELS.map((m) => [m.name, m] as const))('generated model %s', (_name, model) => {
  it('serializes to the same bytes every time, equal to the committed file', () => {
    const first = generatedBytes(model);
    const second = generatedBytes(model);
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
    const committed = readFileSync(path.join(repoRoot, model.file));
    // A difference here means a builder changed: run `npm run models` and commit the files.
    expect(Buffer.from(first).equals(committed)).toBe(true);
  });

  it('parses back from the committed file with nodes, inputs and outputs', () => {
    const graph = graphOf(readModel(path.join(repoRoot, model.file)));
    const spec = model.build();
    expect(graph.nodes.length).toBe(spec.nodes.length);
    expect(graph.outputs.map((o) => o.name)).toEqual(spec.outputs.map((o) => o.name));
    expect(graph.inputs.length).toBeGreaterThan(0);
  });

  it('runs on the float backend with finite outputs of the declared shape', async () => {
    const onnx = readModel(path.join(repoRoot, model.file));
    // threads is given because session.ts passes intraOpNumThreads: undefined, which onnxruntime rejects.
    const backend = await FloatBackend.create(onnx, { threads: 1 });
    try {
      const out = await backend.run(pixelFeeds(onnx), []);
      for (const o of graphOf(onnx).outputs) {
        const t = out.get(o.name);
        expect(t?.dims).toEqual(o.shape);
        expect((t?.data as Float32Array).every(Number.isFinite)).toBe(true);
      }
    } finally {
      await backend.dispose();
    }
  });
});

describe('fixture table', () => {
  it('has unique names and files under fixtures/', () => {
    expect(new Set(FIXTURES.map((f) => f.name)).size).toBe(FIXTURES.length);
    for (const f of FIXTURES) expect(f.file).toBe(`fixtures/${f.name}.onnx`);
    expect(fixtureByName('wide-1000')?.name).toBe('wide-1000');
    expect(fixtureByName('nope')).toBeUndefined();
  });

  it.each(FIXTURES.filter((f) => f.planted).map((f) => [f.name, f] as const))('%s: the planted and related nodes exist', (_name, f) => {
    const graph = graphOf(createModel(f.build()));
    const names = new Set(graph.nodes.map((n) => n.name));
    expect(names.has(f.planted as string)).toBe(true);
    for (const r of f.related ?? []) expect(names.has(r)).toBe(true);
    expect(f.profile).toBeDefined();
  });

  it.each([
    ['outlier-channel', 'planted_conv', 'Conv'],
    ['reducemean-overflow', 'planted_mean', 'ReduceMean'],
    ['concat-ranges', 'concat_consumer', 'Conv'],
    ['concat-ranges', 'planted_concat', 'Concat'],
    ['non-monotone', 'planted_nonmono', 'Conv'],
    ['planted-source', 'planted_source', 'Conv'],
  ])('%s: node %s is a %s', (fixture, node, opType) => {
    const graph = graphOf(createModel(fixtureByName(fixture)!.build()));
    expect(graph.nodes.find((n) => n.name === node)?.opType).toBe(opType);
  });

  it('the non-monotone fixture masks the culprit before a skip connection brings it back', () => {
    const graph = graphOf(createModel(fixtureByName('non-monotone')!.build()));
    const order = graph.nodes.map((n) => n.name);
    const at = (n: string): number => order.indexOf(n);
    expect(at('planted_nonmono')).toBeLessThan(at('nonmono_mask'));
    expect(at('nonmono_mask')).toBeLessThan(at('skip_add'));
    const skip = graph.nodes[at('skip_add')];
    expect(skip.inputs).toContain(graph.nodes[at('planted_nonmono')].outputs[0]);
  });

  it('the reducemean fixture averages 64x64 positions (running sum 40 × 4096 > 65504)', () => {
    const graph = graphOf(createModel(fixtureByName('reducemean-overflow')!.build()));
    const mean = graph.nodes.find((n) => n.name === 'planted_mean')!;
    expect(graph.values.get(mean.inputs[0])?.shape).toEqual([1, 2, 64, 64]);
    expect(40 * 64 * 64).toBeGreaterThan(65504);
  });

  it('opset7-old-ir is IR 3 at opset 7 with initializers listed as inputs', () => {
    const spec = fixtureByName('opset7-old-ir')!.build();
    const model = createModel(spec);
    expect(modelInfo(model).irVersion).toBe(3);
    expect(modelInfo(model).opsets.get('')).toBe(7);
    const inits = new Set(spec.initializers.map((i) => i.name));
    expect(spec.inputs.filter((i) => inits.has(i.name)).length).toBe(inits.size);
    const graph = graphOf(model);
    expect(graph.inputs.map((i) => i.name)).toEqual(['x']);
    expect(graph.nodes.map((n) => n.opType)).toEqual(expect.arrayContaining(['InstanceNormalization', 'Upsample']));
  });

  it.each([
    ['opset13-convnet', 13],
    ['opset21-convnet', 21],
  ])('%s covers the classifier operators at opset %i', (name, opset) => {
    const graph = graphOf(createModel(fixtureByName(name)!.build()));
    expect(graph.opsets.get('')).toBe(opset);
    expect(new Set(graph.nodes.map((n) => n.opType))).toEqual(
      new Set(['Conv', 'Relu', 'Add', 'MaxPool', 'GlobalAveragePool', 'Flatten', 'Gemm']),
    );
  });

  it('wide-1000 has a thousand nodes', () => {
    expect(graphOf(createModel(fixtureByName('wide-1000')!.build())).nodes.length).toBe(1000);
  });

  it('hostile names survive the round trip through the committed file', () => {
    const graph = graphOf(readModel(path.join(repoRoot, 'fixtures/hostile-names.onnx')));
    const nodeNames = graph.nodes.map((n) => n.name);
    const tensorNames = new Set([...graph.inputs, ...graph.outputs].map((v) => v.name).concat(graph.nodes.flatMap((n) => n.outputs)));
    for (const name of [HOSTILE_NAMES.relu, HOSTILE_NAMES.conv, HOSTILE_NAMES.mul, HOSTILE_NAMES.add]) expect(nodeNames).toContain(name);
    for (const name of [HOSTILE_NAMES.input, HOSTILE_NAMES.reluOut, HOSTILE_NAMES.convOut, HOSTILE_NAMES.mulOut, HOSTILE_NAMES.output]) {
      expect(tensorNames.has(name)).toBe(true);
    }
    expect(HOSTILE_NAMES.mulOut.length).toBe(10_000);
    expect(HOSTILE_NAMES.conv).toContain('\u0000');
  });
});
