import { describe, expect, it } from 'vitest';
import { stringAttr } from '../src/core/graph.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { FloatBackend } from '../src/backends/float.js';
import {
  DEMO_CONCAT_NODE,
  DEMO_DESCRIPTION,
  DEMO_HAZARD_NODE,
  DEMO_INPUTS,
  DEMO_OUTPUT,
  buildDemoGenerator,
} from '../src/models/demo-generator.js';
import { createModel, graphOf, type ModelSpec, type NodeSpec } from '../src/onnx/index.js';
import { cosine, pixelFeeds } from './helpers/model-feeds.js';

const spec = buildDemoGenerator();
const graph = graphOf(createModel(spec));
const node = (name: string) => graph.nodes.find((n) => n.name === name);

describe('demo generator structure', () => {
  it('has two real image inputs and one image output', () => {
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual(DEMO_INPUTS.map((n) => [n, [1, 3, 64, 64]]));
    expect(graph.outputs.map((o) => [o.name, o.shape])).toEqual([[DEMO_OUTPUT, [1, 3, 64, 64]]]);
    expect(graph.opsets.get('')).toBe(13);
  });

  it.each(['Concat', 'InstanceNormalization', 'ReduceMean', 'Resize', 'Add', 'Tanh'])('contains %s', (opType) => {
    expect(graph.nodes.some((n) => n.opType === opType)).toBe(true);
  });

  it('upsamples with a nearest Resize', () => {
    const resize = graph.nodes.filter((n) => n.opType === 'Resize');
    expect(resize.map((n) => stringAttr(n, 'mode', ''))).toEqual(['nearest']);
  });

  it('stays small: about 40 nodes, at most 32 channels and 64x64', () => {
    expect(graph.nodes.length).toBeLessThanOrEqual(42);
    for (const v of graph.values.values()) {
      const shape = v.shape as number[] | undefined;
      if (!shape || shape.length !== 4 || graph.initializers.has(v.name)) continue;
      expect(shape[1]).toBeLessThanOrEqual(32);
      expect(shape[2]).toBeLessThanOrEqual(64);
    }
  });

  it('plants the hazard at a Conv that reads the Concat of both branches', () => {
    const hazard = node(DEMO_HAZARD_NODE);
    const concat = node(DEMO_CONCAT_NODE);
    expect(hazard?.opType).toBe('Conv');
    expect(concat?.opType).toBe('Concat');
    expect(hazard?.inputs[0]).toBe(concat?.outputs[0]);
    expect(DEMO_DESCRIPTION).toContain(DEMO_HAZARD_NODE);
  });
});

/**
 * The spec with a QuantizeLinear/DequantizeLinear pair (symmetric, zero point 0, scale
 * max|x|/qmax) on the hazard node's activation input: int8 in the default domain, int16 in the
 * com.microsoft domain (default-domain int16 needs opset 21).
 */
function withFakeQuant(base: ModelSpec, scale: number, bits: 8 | 16): ModelSpec {
  const domain = bits === 16 ? { domain: 'com.microsoft' } : {};
  const zeroPoint = bits === 8 ? makeTensor('int8', [], new Int8Array(1)) : makeTensor('int16', [], new Int16Array(1));
  const nodes: NodeSpec[] = [];
  for (const n of base.nodes) {
    if (n.name === DEMO_HAZARD_NODE) {
      nodes.push({
        name: 'test_q',
        opType: 'QuantizeLinear',
        ...domain,
        inputs: [n.inputs[0], 'test_scale', 'test_zp'],
        outputs: ['test_q_out'],
      });
      nodes.push({
        name: 'test_dq',
        opType: 'DequantizeLinear',
        ...domain,
        inputs: ['test_q_out', 'test_scale', 'test_zp'],
        outputs: ['test_dq_out'],
      });
      nodes.push({ ...n, inputs: ['test_dq_out', ...n.inputs.slice(1)] });
    } else {
      nodes.push(n);
    }
  }
  return {
    ...base,
    opsets: { ...base.opsets, 'com.microsoft': 1 },
    nodes,
    initializers: [
      ...base.initializers,
      { name: 'test_scale', tensor: makeTensor('float32', [], Float32Array.of(scale)) },
      { name: 'test_zp', tensor: zeroPoint },
    ],
  };
}

async function runOnce(model: ModelSpec, feeds: Map<string, Tensor>, taps: string[] = []): Promise<Map<string, Tensor>> {
  // threads is given because session.ts passes intraOpNumThreads: undefined, which onnxruntime rejects.
  const backend = await FloatBackend.create(createModel(model), { threads: 1 });
  try {
    return await backend.run(feeds, taps);
  } finally {
    await backend.dispose();
  }
}

describe('demo generator hazard', () => {
  const hazardInput = spec.nodes.find((n) => n.name === DEMO_HAZARD_NODE)!.inputs[0];

  /** Output cosines with the hazard input fake-quantized at int8 and at int16. */
  async function cosines(model: ModelSpec, seed: number): Promise<{ int8: number; int16: number }> {
    const feeds = pixelFeeds(createModel(model), seed);
    const float = await runOnce(model, feeds, [hazardInput]);
    const x = float.get(hazardInput)!.data as Float32Array;
    let maxAbs = 0;
    for (const v of x) maxAbs = Math.max(maxAbs, Math.abs(v));
    const reference = float.get(DEMO_OUTPUT)!.data as Float32Array;
    const at = async (bits: 8 | 16): Promise<number> => {
      const out = await runOnce(withFakeQuant(model, maxAbs / (bits === 8 ? 127 : 32767), bits), feeds);
      return cosine(reference, out.get(DEMO_OUTPUT)!.data as Float32Array);
    };
    return { int8: await at(8), int16: await at(16) };
  }

  it.each([1, 2])('INT8 on fuse_conv breaks the output and INT16 restores it (inputs seed %i)', async (seed) => {
    const { int8, int16 } = await cosines(spec, seed);
    expect(int8).toBeLessThan(0.95);
    expect(int16).toBeGreaterThan(0.999);
  });

  it('without the outlier gain the same network quantizes fine at INT8', async () => {
    const { int8 } = await cosines(buildDemoGenerator({ outlierGain: 1 }), 1);
    expect(int8).toBeGreaterThan(0.999);
  });
});
