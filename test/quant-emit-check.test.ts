import { describe, expect, it } from 'vitest';
import { checkPrecisions, formatOf } from '../src/quant/emit-check.js';
import { inferShapes } from '../src/analysis/shape-inference.js';
import type { Graph } from '../src/core/graph.js';
import { makeTensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { createModel, editModel, graphOf, initializerTensor, type ModelEdit, type OnnxModel } from '../src/onnx/index.js';
import { resolvePlan, type Override } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { buildQdqModel } from '../src/quant/qdq-rewrite.js';

/**
 * x → conv_a → relu_a ─┬──────────────→ center (Sub) → conv_b → y
 *                      └→ mean (ReduceMean H,W) ┘
 * Under int8-fp16, conv_a+relu_a fuse (Conv→Relu) and store int8, mean is an fp16 reduction with
 * fp16 accumulation, center is an fp16 float op, conv_b is int8.
 */
function tinyModel(opset = 13): OnnxModel {
  const b = new GraphBuilder({ name: 'tiny', opset, irVersion: opset >= 21 ? 10 : 7, seed: 5 });
  const x = b.input('x', [1, 3, 8, 8]);
  const r = b.relu(b.conv(x, 4, 3, { pad: 1, name: 'conv_a' }), { name: 'relu_a' });
  const m = b.reduceMean(r, [2, 3], { name: 'mean' });
  const c = b.sub(r, m, { name: 'center' });
  b.output(b.conv(c, 2, 1, { name: 'conv_b', out: 'y' }));
  return createModel(b.build());
}

interface Built {
  readonly model: OnnxModel;
  readonly source: Graph;
  readonly values: ReturnType<typeof inferShapes>;
  readonly written: OnnxModel;
}

function build(profile: string, overrides: Override[], taps: string[] = [], opset = 13): Built {
  const model = tinyModel(opset);
  const source = graphOf(model);
  const values = inferShapes(source, new Map([['x', [1, 3, 8, 8]]]), (n) => initializerTensor(model, n));
  const plan = resolvePlan(source, loadProfile(profile), overrides);
  const out = buildQdqModel({ model, graph: source, plan, range: () => ({ min: -4, max: 4 }), taps: new Set(taps), values });
  return { model, source, values, written: out.model };
}

function check(b: Built, profile: string, overrides: Override[], written: OnnxModel = b.written, taps: string[] = []): string[] {
  const plan = resolvePlan(b.source, loadProfile(profile), overrides);
  return [...checkPrecisions({ source: b.source, plan, written: graphOf(written), values: b.values, taps: new Set(taps) }).mismatches];
}

/** The node of the written graph that produces a tensor. */
function producerName(model: OnnxModel, tensor: string): string {
  const node = graphOf(model).producer.get(tensor);
  if (!node) throw new Error(`nothing produces ${tensor}`);
  return node.name;
}

/** Replaces a DequantizeLinear's zero point (shared with its QuantizeLinear) by an int8 zero. */
function int8ZeroPointOf(model: OnnxModel, dqOutput: string): ModelEdit {
  const dq = graphOf(model).producer.get(dqOutput);
  if (!dq || dq.opType !== 'DequantizeLinear') throw new Error(`${dqOutput} is not dequantized`);
  return {
    setInitializers: [
      {
        name: dq.inputs[2],
        tensor: makeTensor(
          'int8',
          initializerTensor(model, dq.inputs[2]).dims,
          new Int8Array(initializerTensor(model, dq.inputs[2]).data.length),
        ),
      },
    ],
  };
}

/** Removes the Cast round trip that writes `rounded` and makes its consumers read the raw value. */
function bypassRoundTrip(model: OnnxModel, rounded: string): ModelEdit {
  const g = graphOf(model);
  const outer = g.producer.get(rounded);
  const inner = outer ? g.producer.get(outer.inputs[0]) : undefined;
  if (!outer || !inner || outer.opType !== 'Cast' || inner.opType !== 'Cast') throw new Error(`${rounded} is not a round trip`);
  const raw = inner.inputs[0];
  const consumers = g.consumers.get(rounded) ?? [];
  return {
    removeNodes: [outer.name, inner.name],
    setNodeInputs: Object.fromEntries(consumers.map((c) => [c.name, c.inputs.map((t) => (t === rounded ? raw : t))])),
  };
}

describe('checkPrecisions on an untouched rewrite', () => {
  it.each<[string, Override[]]>([
    ['generic-int8', []],
    ['generic-int8', [['conv_b', 'int16']]],
    [
      'generic-int8',
      [
        ['*', 'int16'],
        ['center', 'fp16'],
      ],
    ],
    [
      'generic-int8',
      [
        ['conv_b', 'fp32'],
        ['conv_a', 'fp16'],
      ],
    ],
    ['int8-fp16', []],
    [
      'int8-fp16',
      [
        ['conv_b', 'int16'],
        ['center', 'fp32'],
      ],
    ],
    [
      'int8-fp16',
      [
        ['mean', 'fp32'],
        ['conv_a', 'fp16'],
      ],
    ],
  ])('%s %j: no mismatch', (profile, overrides) => {
    expect(check(build(profile, overrides), profile, overrides)).toEqual([]);
  });

  it('reports what each node computes', () => {
    const b = build('int8-fp16', [['conv_b', 'int16']]);
    const plan = resolvePlan(b.source, loadProfile('int8-fp16'), [['conv_b', 'int16']]);
    const nodes = checkPrecisions({ source: b.source, plan, written: graphOf(b.written), values: b.values }).nodes;
    expect(Object.fromEntries(nodes.map((n) => [n.node, n.found]))).toEqual({
      conv_a: 'int8',
      relu_a: 'int8',
      mean: 'fp16',
      center: 'fp16',
      conv_b: 'int16',
    });
  });

  it('accepts a tap that splits a group only when the check knows the tap', () => {
    const b = build('generic-int8', [], ['conv_a_out']);
    expect(check(b, 'generic-int8', [], b.written, ['conv_a_out'])).toEqual([]);
    // Without the tap, conv_a and relu_a form one group: conv_a's output must not be stored, and
    // relu_a's output is the group's, stored at int8 rather than at relu_a's own fp32.
    expect(check(b, 'generic-int8', [])).toEqual([
      expect.stringMatching(
        /^node 'conv_a' \(Conv, planned int8\): its output 'conv_a_out' inside a fused group is stored as int8 instead of staying at accumulator precision$/,
      ),
      expect.stringMatching(
        /^node 'relu_a' \(Relu, planned fp32\): its output 'relu_a_out' is stored as fp32, not int8; it reads 'conv_a_out' as int8, not fp32$/,
      ),
      expect.stringMatching(/^node 'mean' .* it reads 'relu_a_out' as fp32, not int8$/),
      expect.stringMatching(/^node 'center' .* it reads 'relu_a_out' as fp32, not int8$/),
    ]);
  });
});

describe('checkPrecisions catches a written graph that is not the plan', () => {
  it.each<[string, string, Override[], Override[], RegExp]>([
    [
      'a node left at int8',
      'generic-int8',
      [],
      [['conv_b', 'int16']],
      /node 'conv_b' \(Conv, planned int16\): its output 'y' is stored as int8, not int16; it reads 'center_out' as int8, not int16; its weight 'conv_b_W' is read as int8, not int16/,
    ],
    [
      'a float op left at fp16',
      'int8-fp16',
      [],
      [['center', 'fp32']],
      /node 'center' \(Sub, planned fp32\): its output 'center_out' is stored as fp16, not fp32/,
    ],
    [
      'a float op left at fp32',
      'int8-fp16',
      [['center', 'fp32']],
      [],
      /node 'center' \(Sub, planned fp16\): its output 'center_out' is stored as fp32, not fp16/,
    ],
    [
      'an fp16 reduction replaced though planned fp32',
      'int8-fp16',
      [],
      [['mean', 'fp32']],
      /node 'mean' \(ReduceMean, planned fp32\): it is missing from the written graph/,
    ],
  ])('%s', (_what, profile, builtWith, checkedWith, message) => {
    const mismatches = check(build(profile, builtWith), profile, checkedWith);
    expect(mismatches.join('\n')).toMatch(message);
  });

  it("an int16 zero point swapped for an int8 one on a node's input Q/DQ", () => {
    const b = build('generic-int8', [['conv_b', 'int16']]);
    const conv = graphOf(b.written).nodes.find((n) => n.name === 'conv_b');
    const tampered = editModel(b.written, int8ZeroPointOf(b.written, conv?.inputs[0] as string));
    expect(check(b, 'generic-int8', [['conv_b', 'int16']], tampered)).toEqual([
      expect.stringMatching(/node 'conv_b' \(Conv, planned int16\): it reads 'center_out' as int8, not int16$/),
    ]);
  });

  it('an int16 weight zero point swapped for an int8 one', () => {
    const b = build('generic-int8', [['conv_b', 'int16']]);
    const conv = graphOf(b.written).nodes.find((n) => n.name === 'conv_b');
    const tampered = editModel(b.written, int8ZeroPointOf(b.written, conv?.inputs[1] as string));
    expect(check(b, 'generic-int8', [['conv_b', 'int16']], tampered).join('\n')).toMatch(
      /conv_b.*its weight 'conv_b_W' is read as int8, not int16/,
    );
  });

  it("a removed Cast round trip on an fp16 op's stored output", () => {
    const b = build('int8-fp16', []);
    const tampered = editModel(b.written, bypassRoundTrip(b.written, 'center_out'));
    expect(check(b, 'int8-fp16', [], tampered).join('\n')).toMatch(
      /node 'center' \(Sub, planned fp16\): its output 'center_out' is stored as fp32, not fp16/,
    );
  });

  it("a removed Cast round trip on an fp16 op's input", () => {
    const b = build('int8-fp16', []);
    const center = graphOf(b.written).nodes.find((n) => n.name === 'center');
    expect(formatOf(graphOf(b.written), center?.inputs[0] as string)).toBe('fp16');
    const tampered = editModel(b.written, bypassRoundTrip(b.written, center?.inputs[0] as string));
    // mean and center share the one rounded copy of relu_a_out.
    expect(check(b, 'int8-fp16', [], tampered)).toEqual([
      expect.stringMatching(/^node 'mean' \(ReduceMean, planned fp16\): it reads 'relu_a_out' as int8, not fp16$/),
      expect.stringMatching(/^node 'center' \(Sub, planned fp16\): it reads 'relu_a_out' as int8, not fp16$/),
    ]);
  });

  it('Q/DQ of the wrong domain for the opset', () => {
    const b = build('generic-int8', []);
    const dq = graphOf(b.written).producer.get('y');
    if (!dq) throw new Error('y has no producer');
    const tampered = editModel(b.written, {
      removeNodes: [dq.name],
      addNodes: [{ name: dq.name, opType: dq.opType, domain: '', inputs: dq.inputs, outputs: dq.outputs, attributes: {} }],
    });
    expect(producerName(tampered, 'y')).toBe(dq.name);
    expect(check(b, 'generic-int8', [], tampered)).toEqual([
      expect.stringMatching(/Q\/DQ operators of domain 'ai.onnx' where opset 13 calls for 'com.microsoft'/),
    ]);
  });

  it('at opset 21 the standard Q/DQ are the right ones', () => {
    const b = build('generic-int8', [['*', 'int16']], [], 21);
    const plan = resolvePlan(b.source, loadProfile('generic-int8'), [['*', 'int16']]);
    const result = checkPrecisions({ source: b.source, plan, written: graphOf(b.written), values: b.values });
    expect(result.qdqDomains).toEqual(['']);
    expect(result.mismatches).toEqual([]);
  });
});
