import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/models/builder.js';
import { broadcastShapes } from '../src/models/shapes.js';
import { restrictInputs, scaleOutputChannels } from '../src/models/weight-edits.js';
import { hashString, heUniform, mulberry32 } from '../src/models/random.js';
import { createModel, graphOf } from '../src/onnx/index.js';

describe('random', () => {
  it('mulberry32 repeats for a seed, differs between seeds and stays in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.slice(0, 5)).not.toEqual(Array.from({ length: 5 }, () => c()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('hashString(%j) is FNV-1a', (text, expected) => {
    expect(hashString(text)).toBe(expected);
  });

  it('heUniform stays within ±√(6/fanIn)·gain', () => {
    const w = heUniform(mulberry32(1), 4000, 24, 2);
    const limit = 2 * Math.sqrt(6 / 24);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.95 * limit);
  });
});

describe('GraphBuilder', () => {
  it('names nodes uniquely and their outputs <node>_out', () => {
    const b = new GraphBuilder({ name: 't', opset: 13 });
    const x = b.input('x', [1, 2, 4, 4]);
    const r1 = b.relu(x);
    const r2 = b.relu(r1);
    const r3 = b.relu(r2, { name: 'relu_1' });
    const spec = b.build();
    expect(spec.nodes.map((n) => n.name)).toEqual(['relu_1', 'relu_2', 'relu_1_2']);
    expect([r1, r2, r3]).toEqual(['relu_1_out', 'relu_2_out', 'relu_1_2_out']);
  });

  it('refuses an output name that is taken and an input that does not exist', () => {
    const b = new GraphBuilder({ name: 't', opset: 13 });
    const x = b.input('x', [1, 2, 4, 4]);
    expect(() => b.relu(x, { out: 'x' })).toThrow(/already taken/);
    expect(() => b.node('Relu', ['nope'])).toThrow(/unknown tensor 'nope'/);
    // A refused node leaves no trace: the next one still gets the first automatic name.
    expect(b.relu(x)).toBe('relu_1_out');
  });

  it.each([
    // [h, k, stride, pad, expected output size]
    [16, 3, 1, 1, 16],
    [16, 3, 2, 1, 8],
    [15, 3, 2, 1, 8],
    [16, 1, 1, 0, 16],
    [7, 3, 1, 0, 5],
  ])('conv on %i with k=%i s=%i p=%i gives %i', (h, k, stride, pad, expected) => {
    const b = new GraphBuilder({ name: 't', opset: 13 });
    const y = b.conv(b.input('x', [1, 3, h, h]), 5, k, { stride, pad });
    expect(b.shapeOf(y)).toEqual([1, 5, expected, expected]);
    const w = b.build().initializers.find((i) => i.name === 'conv_1_W');
    expect(w?.tensor.dims).toEqual([5, 3, k, k]);
  });

  it('tracks shapes through concat, reduceMean, resize, pooling and gemm', () => {
    const b = new GraphBuilder({ name: 't', opset: 13 });
    const x = b.input('x', [1, 3, 8, 8]);
    const c = b.concat([x, b.conv(x, 5, 1)], 1);
    expect(b.shapeOf(c)).toEqual([1, 8, 8, 8]);
    expect(b.shapeOf(b.reduceMean(c, [2, 3]))).toEqual([1, 8, 1, 1]);
    expect(b.shapeOf(b.reduceMean(c, [1], { keepdims: false }))).toEqual([1, 8, 8]);
    expect(b.shapeOf(b.resizeNearest(c, 2))).toEqual([1, 8, 16, 16]);
    expect(b.shapeOf(b.maxPool(c, 2))).toEqual([1, 8, 4, 4]);
    const g = b.flatten(b.globalAveragePool(c));
    expect(b.shapeOf(g)).toEqual([1, 8]);
    expect(b.shapeOf(b.gemm(g, 10))).toEqual([1, 10]);
    expect(b.shapeOf(b.convTranspose(x, 4, 4, { stride: 2, pad: 1 }))).toEqual([1, 4, 16, 16]);
  });

  it.each([
    [[1, 3, 4, 4], [1], [1, 3, 4, 4]],
    [
      [1, 3, 4, 4],
      [1, 3, 1, 1],
      [1, 3, 4, 4],
    ],
    [
      [3, 1],
      [1, 5],
      [3, 5],
    ],
  ])('broadcasts %j with %j to %j', (a, b, expected) => {
    expect(broadcastShapes(a, b)).toEqual(expected);
  });

  it('refuses shapes that do not broadcast', () => {
    expect(() => broadcastShapes([1, 3, 4, 4], [1, 2, 1, 1])).toThrow(/do not broadcast/);
  });

  it.each([
    // [opset, op type, input count, attribute names]
    [7, 'Upsample', 1, ['mode', 'scales']],
    [9, 'Upsample', 2, ['mode']],
    [10, 'Resize', 2, ['mode']],
    [11, 'Resize', 3, ['coordinate_transformation_mode', 'mode', 'nearest_mode']],
    [13, 'Resize', 3, ['coordinate_transformation_mode', 'mode', 'nearest_mode']],
  ])('resizeNearest at opset %i is %s with %i inputs', (opset, opType, inputs, attrs) => {
    const b = new GraphBuilder({ name: 't', opset });
    b.resizeNearest(b.input('x', [1, 1, 2, 2]), 2);
    const node = b.build().nodes[0];
    expect(node.opType).toBe(opType);
    expect(node.inputs.length).toBe(inputs);
    expect(Object.keys(node.attributes ?? {}).sort()).toEqual(attrs);
    // Opset 13 omits roi (''); opsets 11-12 need an (empty) tensor there.
    if (opset === 13) expect(node.inputs[1]).toBe('');
    if (opset === 11) expect(node.inputs[1]).not.toBe('');
  });

  it.each([
    [13, 1, true],
    [18, 2, false],
  ])('reduceMean at opset %i has %i inputs (axes attribute: %s)', (opset, inputs, hasAttr) => {
    const b = new GraphBuilder({ name: 't', opset });
    b.reduceMean(b.input('x', [1, 2, 4, 4]), [2, 3]);
    const node = b.build().nodes[0];
    expect(node.inputs.length).toBe(inputs);
    expect('axes' in (node.attributes ?? {})).toBe(hasAttr);
  });

  it('draws the same weights for the same seed and name, whatever was built before', () => {
    const weightsOf = (extra: boolean): Float32Array => {
      const b = new GraphBuilder({ name: 't', opset: 13, seed: 9 });
      const x = b.input('x', [1, 2, 4, 4]);
      if (extra) b.conv(x, 2, 3, { name: 'other' });
      b.conv(x, 2, 3, { name: 'target' });
      return b.build().initializers.find((i) => i.name === 'target_W')?.tensor.data as Float32Array;
    };
    expect(weightsOf(true)).toEqual(weightsOf(false));
    const b = new GraphBuilder({ name: 't', opset: 13, seed: 10 });
    b.conv(b.input('x', [1, 2, 4, 4]), 2, 3, { name: 'target' });
    expect(b.build().initializers[0].tensor.data).not.toEqual(weightsOf(false));
  });

  it('lists initializers as graph inputs when asked, and value_info for intermediates', () => {
    const b = new GraphBuilder({ name: 't', opset: 7, irVersion: 3, initializersAsInputs: true });
    const x = b.input('x', [1, 2, 4, 4]);
    b.output(b.conv(b.relu(x), 2, 1, { out: 'y' }));
    const spec = b.build();
    expect(spec.inputs.map((i) => i.name)).toEqual(['x', 'conv_1_W', 'conv_1_B']);
    expect(spec.valueInfo?.map((v) => [v.name, v.shape])).toEqual([['relu_1_out', [1, 2, 4, 4]]]);
    expect(spec.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [1, 2, 4, 4] }]);
    const graph = graphOf(createModel(spec));
    expect(graph.inputs.map((i) => i.name)).toEqual(['x']);
    expect(graph.opsets.get('')).toBe(7);
  });
});

describe('weight edits', () => {
  it('restrictInputs zeroes the unlisted input channels and scales the listed ones', () => {
    // [cout=2, cin=3, 1, 1], all ones.
    const w = new Float32Array(6).fill(1);
    restrictInputs(
      (o) => (o === 0 ? [0, 2] : [1]),
      (o) => (o === 0 ? 2 : 0.5),
    )(w, [2, 3, 1, 1]);
    expect([...w]).toEqual([2, 0, 2, 0, 0.5, 0]);
  });

  it('scaleOutputChannels scales whole output channels of weights and of a bias', () => {
    const w = new Float32Array(4).fill(1);
    scaleOutputChannels({ 1: 10 })(w, [2, 2, 1, 1]);
    expect([...w]).toEqual([1, 1, 10, 10]);
    const bias = Float32Array.of(1, 2, 3);
    scaleOutputChannels({ 0: -1 })(bias);
    expect([...bias]).toEqual([-1, 2, 3]);
  });
});
