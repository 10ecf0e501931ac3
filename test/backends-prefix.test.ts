import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { floatBackendFor, openModel } from '../src/app/context.js';
import type { Tensor } from '../src/core/tensor.js';
import { FIXTURES } from '../src/models/fixtures.js';
import { graphOf, prefixModel } from '../src/onnx/index.js';
import { REPO } from './helpers/cli.js';

/**
 * The float references of bisect's and fix's probes come from the model cut to what their taps
 * depend on (onnx/prefix.ts, FloatBackend.fetch): the taps must come back with the very bytes the
 * whole model gives them, and the cut model must hold fewer nodes.
 */

function bytesOf(t: Tensor | undefined): Buffer {
  if (!t || typeof t.data[0] === 'string') throw new Error('expected a numeric tensor');
  const data = t.data as Float32Array;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const MODELS = ['models/demo-generator.onnx', ...FIXTURES.filter((f) => f.name !== 'wide-1000').map((f) => f.file)];

describe.each(MODELS)('%s', (model) => {
  it('a tap computed by the cut float model equals the tap of the whole model', async () => {
    const ctx = await openModel({ modelPath: join(REPO, model) });
    const graph = ctx.graph;
    const outputs = new Set(graph.outputs.map((o) => o.name));
    // Every activation a node produces, but the graph outputs (the cut keeps the whole model for them).
    const float32 = (t: string): boolean => (ctx.values.get(t)?.dtype ?? 'float32') === 'float32';
    const taps = graph.nodes.flatMap((n) => n.outputs).filter((t) => t !== '' && !outputs.has(t) && float32(t));
    expect(taps.length).toBeGreaterThan(0);
    // An early tap, a middle one and a late one, then two at once.
    const chosen = [...new Set([taps[0], taps[Math.floor(taps.length / 2)], taps[taps.length - 1]])];
    const sets = [...chosen.map((t) => [t]), chosen.slice(0, 2)];

    const cut = prefixModel(ctx.loaded.model, [taps[0]]);
    expect(cut).not.toBeNull();
    expect(graphOf(cut as NonNullable<typeof cut>).nodes.length).toBeLessThan(graph.nodes.length);
    expect(graphOf(cut as NonNullable<typeof cut>).outputs.map((o) => o.name)).toEqual([taps[0]]);

    const float = await floatBackendFor(ctx);
    try {
      for (const set of sets) {
        const whole = await float.run(ctx.feeds, set);
        const part = await float.fetch(ctx.feeds, set);
        expect([...part.keys()].sort()).toEqual([...set].sort());
        for (const t of set) expect(bytesOf(part.get(t)).equals(bytesOf(whole.get(t))), `float ${t}`).toBe(true);
      }
    } finally {
      await float.dispose();
    }
  });
});

describe('prefixModel', () => {
  it('refuses to cut at a tensor no node produces', async () => {
    const ctx = await openModel({ modelPath: join(REPO, 'models/demo-generator.onnx') });
    expect(prefixModel(ctx.loaded.model, [ctx.graph.inputs[0].name])).toBeNull();
  });
});
