import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { inferShapes, SHAPE_INFERENCE_OPS, tensorBytes, type InferredValue } from '../src/analysis/shape-inference.js';
import type { Dim, ValueInfo } from '../src/core/graph.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { readModel } from '../src/store/model-file.js';
import { graphOf, initializerTensor } from '../src/onnx/index.js';
import { f32, i64, INT64_MAX, makeGraph, type AttrInput, type GraphSpec, type NodeSpec } from './analysis-shape-helpers.js';

function infer(spec: GraphSpec, inputShapes?: Record<string, number[]>, withConstants = true): Map<string, InferredValue> {
  const { graph, constants } = makeGraph(spec);
  return inferShapes(graph, inputShapes ? new Map(Object.entries(inputShapes)) : undefined, withConstants ? constants : undefined);
}

const x4 = (shape: Dim[]): ValueInfo => ({ name: 'x', dtype: 'float32', shape });

describe('inputs, initializers and declared shapes', () => {
  const spec: GraphSpec = {
    inputs: [x4(['N', 3, 'H', 8])],
    constants: { w: f32(new Array(24).fill(0), [2, 3, 2, 2]) },
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] },
      { op: 'MysteryOp', inputs: ['c'], outputs: ['m'] },
      { op: 'Relu', inputs: ['m'], outputs: ['y'] },
    ],
    valueInfo: [{ name: 'm', dtype: 'float32', shape: ['batch', 2, 6, 7] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [null, 2, 6, null] }],
  };

  it('keeps symbolic input dims and lists initializers', () => {
    const r = infer(spec);
    expect(r.get('x')).toEqual({ dtype: 'float32', shape: ['N', 3, 'H', 8] });
    expect(r.get('w')).toEqual({ dtype: 'float32', shape: [2, 3, 2, 2] });
    expect(r.get('c')).toEqual({ dtype: 'float32', shape: ['N', 2, null, 7] });
  });

  it('uses inputShapes over the declared shape', () => {
    const r = infer(spec, { x: [4, 3, 10, 8] });
    expect(r.get('x')?.shape).toEqual([4, 3, 10, 8]);
    expect(r.get('c')?.shape).toEqual([4, 2, 9, 7]);
  });

  it('falls back on declared value_info for an unknown op, and fills unknown dims of outputs', () => {
    const r = infer(spec);
    expect(r.get('m')).toEqual({ dtype: 'float32', shape: ['batch', 2, 6, 7] });
    expect(r.get('y')).toEqual({ dtype: 'float32', shape: ['batch', 2, 6, 7] });
  });

  it('never replaces an inferred number by a declared one', () => {
    const r = infer({ ...spec, valueInfo: [], outputs: [{ name: 'c', shape: [1, 5, 5, 5] }] }, { x: [4, 3, 10, 8] });
    expect(r.get('c')?.shape).toEqual([4, 2, 9, 7]);
  });

  it('gives null for unknown ops, other domains and missing producers of nothing', () => {
    const r = infer({
      inputs: [x4([1, 2])],
      nodes: [
        { op: 'FusedGemm', domain: 'com.microsoft', inputs: ['x'], outputs: ['a'] },
        { op: 'Relu', domain: 'com.example', inputs: ['x'], outputs: ['b'] },
        { op: 'Relu', inputs: ['a'], outputs: ['c'] },
      ],
    });
    expect([r.get('a'), r.get('b'), r.get('c')]).toEqual([
      { dtype: null, shape: null },
      { dtype: null, shape: null },
      { dtype: null, shape: null },
    ]);
  });

  it('without a constants callback, initializer-driven shapes stay unknown but keep their rank', () => {
    const r = infer(
      { inputs: [x4([2, 3, 4])], constants: { s: i64([6, 4]) }, nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }] },
      undefined,
      false,
    );
    expect(r.get('y')?.shape).toEqual([null, null]);
  });
});

describe('constant folding of shape computations', () => {
  // Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])): a PyTorch-style flatten.
  const flatten = (viaConstantNodes: boolean): GraphSpec => ({
    inputs: [x4(['N', 3, 4, 4])],
    constants: viaConstantNodes ? {} : { zero: i64([0], []), minusOne: i64([-1]), axes: i64([0]) },
    nodes: [
      ...(viaConstantNodes
        ? [
            { op: 'Constant', inputs: [], outputs: ['zero'], attrs: { value: i64([0], []) } },
            { op: 'Constant', inputs: [], outputs: ['minusOne'], attrs: { value_ints: [-1] } },
            { op: 'Constant', inputs: [], outputs: ['axes'], attrs: { value_ints: [0] } },
          ]
        : []),
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['n', 'axes'], outputs: ['n1'] },
      { op: 'Concat', inputs: ['n1', 'minusOne'], outputs: ['target'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
    ] as NodeSpec[],
  });

  it.each([false, true])('Shape -> Gather -> Unsqueeze -> Concat -> Reshape (Constant nodes: %s)', (viaConstantNodes) => {
    expect(infer(flatten(viaConstantNodes)).get('y')?.shape).toEqual(['N', 48]);
    const r = infer(flatten(viaConstantNodes), { x: [2, 3, 4, 4] });
    expect(r.get('s')).toEqual({ dtype: 'int64', shape: [4] });
    expect(r.get('target')).toEqual({ dtype: 'int64', shape: [2] });
    expect(r.get('y')).toEqual({ dtype: 'float32', shape: [2, 48] });
  });

  it.each([
    [
      [2, 3, 8, 8],
      [2, 3, 16, 16],
    ],
    [
      ['N', 3, 8, 8],
      ['N', 3, 16, 16],
    ],
  ] as [Dim[], Dim[]][])('Shape -> Slice -> Mul -> Concat feeds Resize sizes: %j -> %j', (input, expected) => {
    const r = infer({
      inputs: [x4(input)],
      constants: { s0: i64([0]), s2: i64([2]), end: i64([INT64_MAX]), two: i64([2]) },
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Slice', inputs: ['s', 's0', 's2'], outputs: ['nc'] },
        { op: 'Slice', inputs: ['s', 's2', 'end'], outputs: ['hw'] },
        { op: 'Mul', inputs: ['hw', 'two'], outputs: ['hw2'] },
        { op: 'Concat', inputs: ['nc', 'hw2'], outputs: ['sizes'], attrs: { axis: 0 } },
        { op: 'Resize', inputs: ['x', '', '', 'sizes'], outputs: ['y'], attrs: { mode: 'nearest' } },
      ],
    });
    expect(r.get('y')?.shape).toEqual(expected);
  });

  it('Shape -> Cast -> Div -> Cast, ConstantOfShape and Expand from a Shape', () => {
    const r = infer({
      inputs: [x4([6, 4]), { name: 'b', dtype: 'float32', shape: [1, 4] }],
      constants: { half: f32([0.5]) },
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Cast', inputs: ['s'], outputs: ['sf'], attrs: { to: 1 } },
        { op: 'Mul', inputs: ['sf', 'half'], outputs: ['halved'] },
        { op: 'Cast', inputs: ['halved'], outputs: ['si'], attrs: { to: 7 } },
        { op: 'ConstantOfShape', inputs: ['si'], outputs: ['zeros'], attrs: { value: i64([0], [1]) } },
        { op: 'Expand', inputs: ['b', 's'], outputs: ['e'] },
      ],
    });
    expect(r.get('zeros')).toEqual({ dtype: 'int64', shape: [3, 2] });
    expect(r.get('e')?.shape).toEqual([6, 4]);
  });

  it('symbolic dims survive data movement but not arithmetic', () => {
    const r = infer({
      inputs: [x4(['N', 'T', 8])],
      constants: { two: i64([2]), idx: i64([0, 1]) },
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'idx'], outputs: ['nt'] },
        { op: 'Mul', inputs: ['nt', 'two'], outputs: ['nt2'] },
        { op: 'ConstantOfShape', inputs: ['nt'], outputs: ['a'] },
        { op: 'ConstantOfShape', inputs: ['nt2'], outputs: ['b'] },
      ],
    });
    expect(r.get('a')?.shape).toEqual(['N', 'T']);
    expect(r.get('b')?.shape).toEqual([null, null]);
  });

  it('Range, Slice and Where fold from constants', () => {
    const r = infer({
      inputs: [x4([12])],
      constants: {
        start: i64([0], []),
        limit: i64([6], []),
        delta: i64([2], []),
        one: i64([1]),
        three: i64([3]),
        cond: makeTensor('bool', [2], Uint8Array.from([1, 0])),
        alt: i64([3, 6]),
      },
      nodes: [
        { op: 'Range', inputs: ['start', 'limit', 'delta'], outputs: ['r'] },
        { op: 'Slice', inputs: ['r', 'one', 'three'], outputs: ['r2'] },
        { op: 'Where', inputs: ['cond', 'r2', 'alt'], outputs: ['w'] },
        { op: 'Reshape', inputs: ['x', 'w'], outputs: ['y'] },
      ],
    });
    expect(r.get('r')).toEqual({ dtype: 'int64', shape: [3] });
    expect(r.get('y')?.shape).toEqual([2, 6]);
  });
});

describe('tensorBytes', () => {
  it.each([
    [{ dtype: 'float32', shape: [2, 3] }, 24],
    [{ dtype: 'float16', shape: [2, 3] }, 12],
    [{ dtype: 'int64', shape: [2, 3] }, 48],
    [{ dtype: 'uint8', shape: [] }, 1],
    [{ dtype: 'complex64', shape: [2] }, 16],
    [{ dtype: 'float32', shape: [0, 5] }, 0],
    [{ dtype: 'float32', shape: ['N', 3] }, null],
    [{ dtype: 'float32', shape: [null, 3] }, null],
    [{ dtype: 'float32', shape: null }, null],
    [{ dtype: null, shape: [2] }, null],
    [{ dtype: 'string', shape: [2] }, null],
  ] as [InferredValue, number | null][])('%j -> %s', (v, bytes) => {
    expect(tensorBytes(v)).toBe(bytes);
  });
});

/** mulberry32: a tiny deterministic generator for the robustness table. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('robustness', () => {
  const ATTRS = [
    'axis',
    'axes',
    'perm',
    'pads',
    'paddings',
    'strides',
    'kernel_shape',
    'dilations',
    'group',
    'split',
    'starts',
    'ends',
    'keepdims',
    'blocksize',
    'border',
    'scale',
    'scales',
    'to',
    'transA',
    'transB',
    'output_shape',
    'output_padding',
    'auto_pad',
    'ceil_mode',
    'num_outputs',
    'allowzero',
    'noop_with_empty_axes',
    'k',
    'value',
    'hidden_size',
    'direction',
    'layout',
    'batch_dims',
    'start',
    'end',
    'shape',
    'value_ints',
    'value_int',
    'value_floats',
    'stash_type',
    'output_dtype',
    'keep_aspect_ratio_policy',
    'dtype',
    'broadcast',
  ];

  it('every op, fed malformed nodes, returns valid dims without throwing', () => {
    const rand = random(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const dim = (): Dim => pick([0, 1, 1, 2, 3, 7, -1, 'N', null]);
    const ints = () => Array.from({ length: Math.floor(rand() * 6) }, () => pick([-3, -1, 0, 1, 2, 3, 5, 10, 2 ** 40]));
    const attrValue = (): AttrInput =>
      pick<() => AttrInput>([
        () => pick([-2, -1, 0, 1, 2, 3, 7, 99]),
        ints,
        () => pick(['NOTSET', 'SAME_UPPER', 'VALID', 'bidirectional', 'not_larger', '']),
        () => ({ floats: ints().map((v) => v / 2) }),
        () => ({ float: 0.5 }),
        () => i64(ints()),
      ])();
    let checked = 0;
    for (const op of SHAPE_INFERENCE_OPS) {
      for (let trial = 0; trial < 40; trial++) {
        const constants: Record<string, Tensor> = {};
        const inputs: ValueInfo[] = [];
        const names = Array.from({ length: Math.floor(rand() * 6) }, (_, i) => {
          const kind = rand();
          const name = `in${i}`;
          if (kind < 0.15) return '';
          if (kind < 0.55) {
            const values = ints();
            constants[name] = rand() < 0.5 ? i64(values) : f32(values);
          } else {
            const shape = rand() < 0.1 ? undefined : Array.from({ length: Math.floor(rand() * 5) }, dim);
            inputs.push({ name, dtype: pick(['float32', 'int64', 'bool'] as const), shape });
          }
          return name;
        });
        const attrs: Record<string, AttrInput> = {};
        for (let k = Math.floor(rand() * 5); k > 0; k--) attrs[pick(ATTRS)] = attrValue();
        const outputs = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => `out${i}`);
        const spec = { inputs, constants, nodes: [{ op, inputs: names, outputs, attrs }], opset: pick([1, 6, 7, 9, 10, 11, 13, 18, 21]) };
        const r = infer(spec);
        for (const o of outputs) {
          const shape = r.get(o)?.shape;
          if (shape) for (const d of shape) expect(d === null || typeof d === 'string' || (Number.isSafeInteger(d) && d >= 0)).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(SHAPE_INFERENCE_OPS.length * 40);
  });

  it('is deterministic and fast on a 1,000-node graph', () => {
    const nodes: NodeSpec[] = [];
    let last = 'x';
    for (let i = 0; i < 250; i++) {
      nodes.push({ op: 'Conv', inputs: [last, 'w'], outputs: [`c${i}`], attrs: { pads: [1, 1, 1, 1] } });
      nodes.push({ op: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`] });
      nodes.push({ op: 'Shape', inputs: [`r${i}`], outputs: [`s${i}`] });
      nodes.push({ op: 'Reshape', inputs: [`r${i}`, `s${i}`], outputs: [`y${i}`] });
      last = `y${i}`;
    }
    const { graph, constants } = makeGraph({
      inputs: [x4([1, 8, 32, 32])],
      constants: { w: f32(new Array(8 * 8 * 9).fill(0), [8, 8, 3, 3]) },
      nodes,
    });
    inferShapes(graph, undefined, constants);
    const t0 = performance.now();
    const a = inferShapes(graph, undefined, constants);
    const ms = performance.now() - t0;
    console.log(`inferShapes on ${graph.nodes.length} nodes: ${ms.toFixed(2)} ms`);
    expect(ms).toBeLessThan(250);
    expect(a.get('y249')?.shape).toEqual([1, 8, 32, 32]);
    expect([...inferShapes(graph, undefined, constants)]).toEqual([...a]);
  });
});

const UDNIE = fileURLToPath(new URL('../../shared/models/udnie.onnx', import.meta.url));
if (!existsSync(UDNIE)) console.log(`Skipping the udnie shape test: ${UDNIE} is absent.`);

describe.skipIf(!existsSync(UDNIE))('udnie.onnx', () => {
  it('gives every node output a full shape for input [1,3,720,720]', () => {
    const model = readModel(UDNIE);
    const graph = graphOf(model);
    const shapes = inferShapes(graph, new Map([['inputImage', [1, 3, 720, 720]]]), (name) => initializerTensor(model, name));
    const outputs = graph.nodes.flatMap((n) => n.outputs.filter((o) => o !== ''));
    expect(outputs).toHaveLength(59);
    for (const name of outputs) {
      const v = shapes.get(name);
      expect(v?.dtype, name).toBe('float32');
      expect(
        v?.shape?.every((d) => typeof d === 'number'),
        name,
      ).toBe(true);
    }
    expect(shapes.get('outputImage')?.shape).toEqual([1, 3, 720, 720]);
    // The first layers: Pad 40 on each side, then a 9x9 Conv and a stride-2 Conv.
    const first = graph.nodes.slice(0, 6).map((n) => shapes.get(n.outputs[0])?.shape);
    expect(first).toEqual([
      [1, 3, 720, 720],
      [1, 3, 800, 800],
      [1, 16, 800, 800],
      [1, 16, 800, 800],
      [1, 16, 800, 800],
      [1, 32, 400, 400],
    ]);
    expect(tensorBytes(shapes.get('outputImage') as InferredValue)).toBe(720 * 720 * 3 * 4);
  });

  it('keeps the symbolic batch without input shapes', () => {
    const model = readModel(UDNIE);
    const shapes = inferShapes(graphOf(model), undefined, (name) => initializerTensor(model, name));
    expect(shapes.get('outputImage')?.shape).toEqual(['None', 3, 720, 720]);
  });
});
