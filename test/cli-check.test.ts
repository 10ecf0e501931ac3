import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isolateKernels } from '../src/quant/kernel-isolation.js';
import { createModel, graphOf } from '../src/onnx/index.js';
import { GraphBuilder } from '../src/models/builder.js';
import { runCliInProcess, tempDir } from './helpers/cli.js';

const DEMO = 'models/demo-generator.onnx';

describe('quantscope check', () => {
  const cache = join(tempDir('qs-cli-check-'), 'cache');
  const env = { QUANTSCOPE_CACHE: cache };

  it('passes on the demo, names the verdict in one sentence and exits 0', async () => {
    const r = await runCliInProcess(['check', DEMO, '-q'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^demo-generator · generic-int8: /);
    expect(r.stdout).toMatch(/\d+ tensors: \d+ identical, \d+ within 1 step\(s\), 0 mismatch\(es\)/);
    expect(r.stdout).toContain("without taps, output 'image'");
    expect(r.stdout.trim().split('\n').at(-1)).toBe('The emulation computes what the plan says.');
  });

  it('--json gives every tensor with its step, difference and verdict', async () => {
    const r = await runCliInProcess(['check', DEMO, '--profile', 'int8-fp16', '--precision', 'fuse_conv=int16', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schemaVersion).toBe(1);
    expect(doc.profile).toBe('int8-fp16');
    expect(doc.passes).toBe(true);
    const fuse = doc.tensors.find((t: { node: string }) => t.node === 'fuse_conv');
    expect(fuse).toMatchObject({ opType: 'Conv', storage: 'int16', basis: 'scale' });
    expect(fuse.step).toBeGreaterThan(0);
    expect(['identical', 'within']).toContain(fuse.verdict);
    expect(doc.deployed[0]).toHaveProperty('literalSnrDb');
    expect(doc.deployed[0]).toHaveProperty('optimizedSnrDb');
  });

  it.each([
    [['--tolerance', '-1'], /--tolerance -1 is not a number of steps/],
    [['--taps', 'no_such_tensor'], /no_such_tensor/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const r = await runCliInProcess(['check', DEMO, '-q', ...args], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('isolateKernels', () => {
  it('cuts a chain at its taps: each wanted tensor reads given values of the taps before it', () => {
    const b = new GraphBuilder({ name: 'chain', opset: 13, irVersion: 7, seed: 1 });
    const x = b.input('x', [1, 2, 4, 4]);
    const a = b.relu(x, { name: 'first' });
    const c = b.tanh(a, { name: 'second' });
    b.output(b.sigmoid(c, { name: 'third' }));
    const model = createModel(b.build());
    const taps = new Set([a, c]);
    const info = (t: string) => ({ name: t, dtype: 'float32' as const, shape: [1, 2, 4, 4] });
    const cut = isolateKernels(model, taps, [c], info);
    const g = graphOf(cut.model);
    expect(g.nodes.map((n) => n.name)).toEqual(['second']);
    expect([...cut.given.keys()]).toEqual([a]);
    expect(g.nodes[0].inputs).toEqual([cut.given.get(a)]);
    expect(g.outputs.map((o) => o.name)).toEqual([c]);
    // A graph input is never cut: the first kernel reads x itself.
    const first = isolateKernels(model, new Set([x, a]), [a], info);
    expect(graphOf(first.model).nodes.map((n) => n.name)).toEqual(['first']);
    expect(first.given.size).toBe(0);
  });
});
