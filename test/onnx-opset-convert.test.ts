import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OrtSession } from '../src/backends/session.js';
import type { DType } from '../src/core/dtype.js';
import { InternalError, UserError } from '../src/core/errors.js';
import type { AttrValue } from '../src/core/graph.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { mulberry32 } from '../src/models/random.js';
import { readModel } from '../src/store/model-file.js';
import {
  convertOpset,
  createModel,
  graphOf,
  initializerTensor,
  modelInfo,
  opsetConversionBlockers,
  parseModel,
  serializeModel,
  type NodeSpec,
  type OnnxModel,
} from '../src/onnx/index.js';
import type { ModelProto } from '../src/onnx/proto-types.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/schema.js';
import { pixelFeeds } from './helpers/model-feeds.js';
import { tensorMismatch, type Tolerance } from './helpers/tensor-close.js';

// ---- builders ------------------------------------------------------------------------------

const int = (value: number): AttrValue => ({ kind: 'int', value });
const float = (value: number): AttrValue => ({ kind: 'float', value });
const ints = (...value: number[]): AttrValue => ({ kind: 'ints', value });
const floats = (...value: number[]): AttrValue => ({ kind: 'floats', value });
const str = (value: string): AttrValue => ({ kind: 'string', value });
const f32 = (dims: number[], values: number[]): Tensor => makeTensor('float32', dims, Float32Array.from(values));
// eslint-disable-next-line no-loss-of-precision -- the literal a JSON model holds, rounding to 2^63 on purpose
const INT64_MAX_AS_NUMBER = 9223372036854775807; // rounds to 2^63; written back as INT64_MAX

/** Seeded values in [-3, 3), with a few exact zeros and halves to exercise rounding. */
function randomTensor(dims: number[], seed: number): Tensor {
  const random = mulberry32(seed);
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = i % 11 === 0 ? 0 : i % 13 === 0 ? 0.5 : random() * 6 - 3;
  return makeTensor('float32', dims, data);
}

interface Case {
  readonly name: string;
  readonly opset: number;
  readonly target?: number;
  readonly inputs: readonly { name: string; dims: number[]; value?: Tensor }[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: readonly { name: string; tensor: Tensor }[];
  readonly outputs: readonly (string | [string, DType])[];
  /** Op types of the converted model, in order. */
  readonly ops: readonly string[];
  /** Default: exact. */
  readonly tol?: Tolerance;
}

function build(c: Pick<Case, 'name' | 'opset' | 'inputs' | 'nodes' | 'initializers' | 'outputs'>, irVersion?: number): OnnxModel {
  return createModel({
    name: c.name,
    ...(irVersion === undefined ? {} : { irVersion }),
    opsets: { '': c.opset },
    inputs: c.inputs.map((i) => ({ name: i.name, dtype: i.value?.dtype ?? 'float32', shape: i.dims })),
    outputs: c.outputs.map((o) => (typeof o === 'string' ? { name: o, dtype: 'float32' } : { name: o[0], dtype: o[1] })),
    nodes: c.nodes,
    initializers: c.initializers ?? [],
  });
}

function feedsOf(c: Case): Map<string, Tensor> {
  return new Map(c.inputs.map((i, k) => [i.name, i.value ?? randomTensor(i.dims, 17 + k)]));
}

/** Runs a model on onnxruntime's CPU provider with the default session options (all optimizations). */
async function run(
  model: OnnxModel,
  feeds: ReadonlyMap<string, Tensor>,
  options: { disableQdqFusion?: boolean } = {},
): Promise<Map<string, Tensor>> {
  const session = await OrtSession.create(model, { label: 'the test model', ...options });
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

function opsOf(model: OnnxModel): string[] {
  return graphOf(model).nodes.map((n) => n.opType);
}

const EXACT: Tolerance = { atol: 0, rtol: 0 };
/** Where one fused expression becomes two float32 nodes, the last bit may differ. */
const TWO_ROUNDINGS: Tolerance = { atol: 1e-6, rtol: 1e-6 };

const x4 = (dims = [1, 3, 4, 5]) => [{ name: 'x', dims }];
const one = (opType: string, attributes: Record<string, AttrValue>, inputs: string[] = ['x'], outputs: string[] = ['y']): NodeSpec[] => [
  { name: 'n', opType, inputs, outputs, attributes },
];

// ---- the table ------------------------------------------------------------------------------

const cases: Case[] = [
  // Experimental ops (removed at 10).
  {
    name: 'ImageScaler with scale and bias',
    opset: 7,
    inputs: x4(),
    nodes: one('ImageScaler', { scale: float(2.5), bias: floats(1, -2, 0.25) }),
    outputs: ['y'],
    ops: ['Mul', 'Add'],
    tol: TWO_ROUNDINGS,
  },
  {
    name: 'ImageScaler with bias only (udnie form)',
    opset: 7,
    inputs: x4(),
    nodes: one('ImageScaler', { scale: float(1), bias: floats(-103.939, -116.779, -123.68) }),
    outputs: ['y'],
    ops: ['Add'],
  },
  {
    name: 'ImageScaler from opset 9',
    opset: 9,
    inputs: x4(),
    nodes: one('ImageScaler', { scale: float(0.5), bias: floats(0, 0, 0) }),
    outputs: ['y'],
    ops: ['Mul', 'Add'],
    tol: TWO_ROUNDINGS,
  },
  {
    name: 'Crop without scale, zero bottom border',
    opset: 7,
    inputs: x4([2, 3, 6, 7]),
    nodes: one('Crop', { border: ints(1, 2, 3, 0) }),
    outputs: ['y'],
    ops: ['Slice'],
  },
  {
    name: 'Crop without scale, all borders',
    opset: 7,
    inputs: x4([1, 2, 6, 7]),
    nodes: one('Crop', { border: ints(2, 1, 1, 2) }),
    outputs: ['y'],
    ops: ['Slice'],
  },
  {
    name: 'Crop with scale',
    opset: 7,
    inputs: x4([1, 2, 6, 7]),
    nodes: one('Crop', { border: ints(1, 2, 0, 0), scale: ints(3, 4) }),
    outputs: ['y'],
    ops: ['Slice'],
  },
  {
    name: 'Affine alpha only (udnie form)',
    opset: 7,
    inputs: x4(),
    nodes: one('Affine', { alpha: float(150), beta: float(0) }),
    outputs: ['y'],
    ops: ['Mul'],
  },
  {
    name: 'Affine alpha and beta',
    opset: 7,
    inputs: x4(),
    nodes: one('Affine', { alpha: float(-1.5), beta: float(0.75) }),
    outputs: ['y'],
    ops: ['Mul', 'Add'],
    tol: TWO_ROUNDINGS,
  },
  { name: 'Scale', opset: 7, inputs: x4(), nodes: one('Scale', { scale: float(3) }), outputs: ['y'], ops: ['Mul'] },
  {
    name: 'ScaledTanh',
    opset: 7,
    inputs: x4(),
    nodes: one('ScaledTanh', { alpha: float(2), beta: float(0.5) }),
    outputs: ['y'],
    ops: ['Mul', 'Tanh', 'Mul'],
    tol: TWO_ROUNDINGS,
  },
  {
    name: 'ParametricSoftplus',
    opset: 7,
    inputs: x4(),
    nodes: one('ParametricSoftplus', { alpha: float(2), beta: float(0.5) }),
    outputs: ['y'],
    ops: ['Mul', 'Softplus', 'Mul'],
    tol: TWO_ROUNDINGS,
  },
  {
    name: 'ThresholdedRelu (experimental until 10, then standard) is kept',
    opset: 7,
    inputs: x4(),
    nodes: one('ThresholdedRelu', { alpha: float(0.5) }),
    outputs: ['y'],
    ops: ['ThresholdedRelu'],
  },
  {
    name: 'DynamicSlice',
    opset: 7,
    inputs: x4(),
    nodes: one('DynamicSlice', {}, ['x', 's', 'e', 'a']),
    outputs: ['y'],
    ops: ['Slice'],
    initializers: [
      { name: 's', tensor: makeTensor('int64', [2], BigInt64Array.from([1n, -3n])) },
      { name: 'e', tensor: makeTensor('int64', [2], BigInt64Array.from([3n, 100n])) },
      { name: 'a', tensor: makeTensor('int64', [2], BigInt64Array.from([1n, 3n])) },
    ],
  },
  {
    name: 'MeanVarianceNormalization per channel',
    opset: 7,
    inputs: x4([2, 3, 4, 5]),
    nodes: one('MeanVarianceNormalization', { across_channels: int(0), normalize_variance: int(1) }),
    outputs: ['y'],
    ops: ['MeanVarianceNormalization'],
  },
  {
    name: 'MeanVarianceNormalization across channels',
    opset: 7,
    inputs: x4([2, 3, 4, 5]),
    nodes: one('MeanVarianceNormalization', { across_channels: int(1) }),
    outputs: ['y'],
    ops: ['MeanVarianceNormalization'],
  },

  // Upsample (scales attribute before 9, input from 9, gone at 10) and Resize-10.
  {
    name: 'Upsample-7 nearest x2',
    opset: 7,
    inputs: x4(),
    nodes: one('Upsample', { mode: str('nearest'), scales: floats(1, 1, 2, 2) }),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-7 nearest, non-integer scales',
    opset: 7,
    inputs: x4(),
    nodes: one('Upsample', { scales: floats(1, 1, 1.5, 2.7) }),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-7 linear x2',
    opset: 7,
    inputs: x4(),
    nodes: one('Upsample', { mode: str('linear'), scales: floats(1, 1, 2, 2) }),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-7 linear, non-integer scales',
    opset: 7,
    inputs: x4(),
    nodes: one('Upsample', { mode: str('linear'), scales: floats(1, 1, 1.7, 3.3) }),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-7 to opset 9 (scales input)',
    opset: 7,
    target: 9,
    inputs: x4(),
    nodes: one('Upsample', { scales: floats(1, 1, 1.5, 2) }),
    outputs: ['y'],
    ops: ['Upsample'],
  },
  {
    name: 'Upsample-7 to opset 10 (Resize-10)',
    opset: 7,
    target: 10,
    inputs: x4(),
    nodes: one('Upsample', { mode: str('linear'), scales: floats(1, 1, 1.5, 2) }),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-9 nearest, scales initializer',
    opset: 9,
    inputs: x4(),
    nodes: one('Upsample', {}, ['x', 's']),
    initializers: [{ name: 's', tensor: f32([4], [1, 1, 2.5, 1.5]) }],
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Upsample-9 linear, scales from a Constant',
    opset: 9,
    inputs: x4(),
    outputs: ['y'],
    ops: ['Constant', 'Resize'],
    nodes: [
      {
        name: 'k',
        opType: 'Constant',
        inputs: [],
        outputs: ['s'],
        attributes: { value: { kind: 'tensor', value: f32([4], [1, 1, 2, 3]) } },
      },
      { name: 'n', opType: 'Upsample', inputs: ['x', 's'], outputs: ['y'], attributes: { mode: str('linear') } },
    ],
  },
  {
    name: 'Upsample-9 nearest, scales computed at run time',
    opset: 9,
    inputs: [...x4(), { name: 's', dims: [4], value: f32([4], [1, 1, 2, 3]) }],
    nodes: one('Upsample', {}, ['x', 's']),
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Resize-10 nearest x2',
    opset: 10,
    inputs: x4(),
    nodes: one('Resize', { mode: str('nearest') }, ['x', 's']),
    initializers: [{ name: 's', tensor: f32([4], [1, 1, 2, 2]) }],
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Resize-10 nearest downsampling',
    opset: 10,
    inputs: x4([1, 2, 9, 10]),
    nodes: one('Resize', {}, ['x', 's']),
    initializers: [{ name: 's', tensor: f32([4], [1, 1, 0.6, 0.45]) }],
    outputs: ['y'],
    ops: ['Resize'],
  },
  {
    name: 'Resize-10 linear, up and down',
    opset: 10,
    inputs: x4([1, 2, 9, 10]),
    nodes: one('Resize', { mode: str('linear') }, ['x', 's']),
    initializers: [{ name: 's', tensor: f32([4], [1, 1, 0.7, 1.6]) }],
    outputs: ['y'],
    ops: ['Resize'],
  },

  // Attributes that became inputs.
  {
    name: 'Pad constant with value',
    opset: 7,
    inputs: x4(),
    nodes: one('Pad', { pads: ints(0, 0, 1, 2, 0, 1, 2, 0), value: float(1.5) }),
    outputs: ['y'],
    ops: ['Pad'],
  },
  {
    name: 'Pad constant, default value',
    opset: 7,
    inputs: x4(),
    nodes: one('Pad', { mode: str('constant'), pads: ints(0, 0, 1, 1, 0, 0, 1, 1) }),
    outputs: ['y'],
    ops: ['Pad'],
  },
  {
    name: 'Pad reflect (udnie form)',
    opset: 7,
    inputs: x4([1, 3, 6, 7]),
    nodes: one('Pad', { mode: str('reflect'), pads: ints(0, 0, 2, 3, 0, 0, 3, 2) }),
    outputs: ['y'],
    ops: ['Pad'],
  },
  {
    name: 'Pad edge, negative pad',
    opset: 7,
    inputs: x4(),
    nodes: one('Pad', { mode: str('edge'), pads: ints(0, 0, 2, -1, 0, 0, 1, 2) }),
    outputs: ['y'],
    ops: ['Pad'],
  },
  {
    name: 'Clip min and max',
    opset: 7,
    inputs: x4(),
    nodes: one('Clip', { min: float(-1.25), max: float(0.5) }),
    outputs: ['y'],
    ops: ['Clip'],
  },
  { name: 'Clip max only', opset: 7, inputs: x4(), nodes: one('Clip', { max: float(0.5) }), outputs: ['y'], ops: ['Clip'] },
  {
    name: 'Clip min only, after Relu (traced type)',
    opset: 7,
    inputs: x4(),
    outputs: ['y'],
    ops: ['Relu', 'Clip'],
    nodes: [
      { name: 'r', opType: 'Relu', inputs: ['x'], outputs: ['t'] },
      { name: 'n', opType: 'Clip', inputs: ['t'], outputs: ['y'], attributes: { min: float(0.25) } },
    ],
  },
  { name: 'Clip without bounds', opset: 7, inputs: x4(), nodes: one('Clip', {}), outputs: ['y'], ops: ['Clip'] },
  {
    name: 'Slice with negative starts and INT64_MAX ends',
    opset: 7,
    inputs: x4([2, 3, 6, 7]),
    nodes: one('Slice', { starts: ints(1, -4, -3), ends: ints(INT64_MAX_AS_NUMBER, -1, 2147483647), axes: ints(1, 2, 3) }),
    outputs: ['y'],
    ops: ['Slice'],
  },
  {
    name: 'Slice without axes',
    opset: 7,
    inputs: x4([2, 3, 6, 7]),
    nodes: one('Slice', { starts: ints(0, 1), ends: ints(1, 1000) }),
    outputs: ['y'],
    ops: ['Slice'],
  },
  {
    name: 'TopK',
    opset: 7,
    inputs: x4([2, 7, 3]),
    nodes: one('TopK', { k: int(3), axis: int(1) }, ['x'], ['v', 'i']),
    outputs: ['v', ['i', 'int64']],
    ops: ['TopK'],
  },
  {
    name: 'BatchNormalization spatial=1',
    opset: 7,
    inputs: x4(),
    outputs: ['y'],
    ops: ['BatchNormalization'],
    nodes: one('BatchNormalization', { spatial: int(1), epsilon: float(1e-3) }, ['x', 'g', 'b', 'm', 'v']),
    initializers: [
      { name: 'g', tensor: f32([3], [1, 0.5, 2]) },
      { name: 'b', tensor: f32([3], [0, 1, -1]) },
      { name: 'm', tensor: f32([3], [0.1, -0.2, 0.3]) },
      { name: 'v', tensor: f32([3], [1, 2, 0.5]) },
    ],
  },
  {
    name: 'Dropout with an unused mask',
    opset: 7,
    inputs: x4(),
    nodes: one('Dropout', { ratio: float(0.3) }, ['x'], ['y', 'mask']),
    outputs: ['y'],
    ops: ['Dropout'],
  },
  {
    name: 'Scatter-9',
    opset: 9,
    inputs: x4([3, 4]),
    outputs: ['y'],
    ops: ['ScatterElements'],
    nodes: one('Scatter', { axis: int(1) }, ['x', 'i', 'u']),
    initializers: [
      { name: 'i', tensor: makeTensor('int64', [3, 2], BigInt64Array.from([0n, 3n, 1n, 2n, -1n, 0n])) },
      { name: 'u', tensor: f32([3, 2], [10, 11, 12, 13, 14, 15]) },
    ],
  },
  {
    name: 'compatible ops pass (Conv, MaxPool, Softmax, Gemm)',
    opset: 7,
    inputs: x4([1, 2, 6, 6]),
    outputs: ['y'],
    ops: ['Conv', 'MaxPool', 'Flatten', 'Gemm', 'Softmax'],
    nodes: [
      {
        name: 'c',
        opType: 'Conv',
        inputs: ['x', 'w'],
        outputs: ['c_out'],
        attributes: { kernel_shape: ints(3, 3), pads: ints(1, 1, 1, 1) },
      },
      {
        name: 'p',
        opType: 'MaxPool',
        inputs: ['c_out'],
        outputs: ['p_out'],
        attributes: { kernel_shape: ints(2, 2), strides: ints(2, 2) },
      },
      { name: 'f', opType: 'Flatten', inputs: ['p_out'], outputs: ['f_out'] },
      { name: 'g', opType: 'Gemm', inputs: ['f_out', 'gw', 'gb'], outputs: ['g_out'], attributes: { transB: int(1) } },
      { name: 's', opType: 'Softmax', inputs: ['g_out'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'w', tensor: randomTensor([2, 2, 3, 3], 5) },
      { name: 'gw', tensor: randomTensor([4, 18], 6) },
      { name: 'gb', tensor: randomTensor([4], 7) },
    ],
  },
];

describe('convertOpset: each adapted op computes what the original computed', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const target = c.target ?? 11;
    const original = build(c);
    const converted = convertOpset(original, target);
    expect(modelInfo(converted).opsets.get('')).toBe(target);
    expect(opsOf(converted)).toEqual(c.ops);
    expect(opsetConversionBlockers(original, target)).toEqual([]);
    // Graph inputs and outputs keep their names.
    expect(graphOf(converted).inputs.map((i) => i.name)).toEqual(graphOf(original).inputs.map((i) => i.name));
    expect(graphOf(converted).outputs.map((o) => o.name)).toEqual(graphOf(original).outputs.map((o) => o.name));
    // The node writing each original output keeps the original node's name.
    for (const o of graphOf(original).outputs) {
      expect(graphOf(converted).producer.get(o.name)?.name).toBe(graphOf(original).producer.get(o.name)?.name);
    }

    const feeds = feedsOf(c);
    const expected = await run(original, feeds);
    const actual = await run(converted, feeds);
    for (const [name, e] of expected) {
      const a = actual.get(name);
      expect(a, name).toBeDefined();
      expect(tensorMismatch(a!, e, c.tol ?? EXACT), name).toBeUndefined();
    }
  });
});

// ---- details of the rewritten models ----------------------------------------------------------

const attrsOf = (model: OnnxModel, node: string) => Object.fromEntries(graphOf(model).nodes.find((n) => n.name === node)!.attributes);
const inputsOf = (model: OnnxModel, node: string) => graphOf(model).nodes.find((n) => n.name === node)!.inputs;
const caseNamed = (name: string) => cases.find((c) => c.name === name)!;

describe('convertOpset: the forms it writes', () => {
  it('Upsample becomes Resize-11 with asymmetric coordinates, nearest rounding down, and an empty roi', () => {
    const m = convertOpset(build(caseNamed('Upsample-7 nearest x2')), 11);
    expect(attrsOf(m, 'n')).toEqual({
      mode: str('nearest'),
      coordinate_transformation_mode: str('asymmetric'),
      nearest_mode: str('floor'),
    });
    const [, roi, scales] = inputsOf(m, 'n');
    expect(initializerTensor(m, roi).dims).toEqual([0]);
    expect(Array.from(initializerTensor(m, scales).data as Float32Array)).toEqual([1, 1, 2, 2]);
  });

  it('Resize-10 downsampling with nearest rounds up, as onnxruntime did at opset 10', () => {
    const m = convertOpset(build(caseNamed('Resize-10 nearest downsampling')), 11);
    expect(attrsOf(m, 'n').nearest_mode).toEqual(str('ceil'));
  });

  it('linear modes get no nearest_mode', () => {
    const m = convertOpset(build(caseNamed('Upsample-7 linear x2')), 11);
    expect(attrsOf(m, 'n')).toEqual({ mode: str('linear'), coordinate_transformation_mode: str('asymmetric') });
  });

  it('Slice keeps INT64_MAX ends exactly', () => {
    const m = convertOpset(build(caseNamed('Slice with negative starts and INT64_MAX ends')), 11);
    const [, starts, ends, axes] = inputsOf(m, 'n');
    expect(Array.from(initializerTensor(m, starts).data as BigInt64Array)).toEqual([1n, -4n, -3n]);
    expect(Array.from(initializerTensor(m, ends).data as BigInt64Array)).toEqual([(1n << 63n) - 1n, -1n, 2147483647n]);
    expect(Array.from(initializerTensor(m, axes).data as BigInt64Array)).toEqual([1n, 2n, 3n]);
    expect(attrsOf(m, 'n')).toEqual({});
  });

  it('Crop with a zero bottom border slices to INT64_MAX', () => {
    const m = convertOpset(build(caseNamed('Crop without scale, zero bottom border')), 11);
    const [, starts, ends] = inputsOf(m, 'n');
    expect(Array.from(initializerTensor(m, starts).data as BigInt64Array)).toEqual([2n, 1n]);
    expect(Array.from(initializerTensor(m, ends).data as BigInt64Array)).toEqual([(1n << 63n) - 1n, -3n]);
  });

  it('Clip with max only leaves min empty', () => {
    const m = convertOpset(build(caseNamed('Clip max only')), 11);
    const [x, min, max] = inputsOf(m, 'n');
    expect([x, min]).toEqual(['x', '']);
    expect(initializerTensor(m, max)).toEqual(makeTensor('float32', [], Float32Array.from([0.5])));
  });

  it('Pad keeps mode and takes constant_value in the data type; a zero value is left out', () => {
    const m = convertOpset(build(caseNamed('Pad constant with value')), 11);
    const [, pads, value] = inputsOf(m, 'n');
    expect(Array.from(initializerTensor(m, pads).data as BigInt64Array)).toEqual([0n, 0n, 1n, 2n, 0n, 1n, 2n, 0n]);
    expect(initializerTensor(m, value)).toEqual(makeTensor('float32', [], Float32Array.from([1.5])));
    expect(inputsOf(convertOpset(build(caseNamed('Pad constant, default value')), 11), 'n')).toHaveLength(2);
  });

  it('float64 data gets float64 constants', () => {
    const m = convertOpset(
      build({
        name: 'f64',
        opset: 7,
        inputs: [{ name: 'x', dims: [2], value: makeTensor('float64', [2], Float64Array.from([1, 2])) }],
        nodes: one('Clip', { min: float(0) }),
        outputs: [['y', 'float64']],
      }),
      11,
    );
    expect(initializerTensor(m, inputsOf(m, 'n')[1]).dtype).toBe('float64');
  });

  it('BatchNormalization loses spatial and keeps its other attributes', () => {
    const m = convertOpset(build(caseNamed('BatchNormalization spatial=1')), 11);
    expect(Object.keys(attrsOf(m, 'n'))).toEqual(['epsilon']);
  });

  it('an unused Dropout mask is dropped', () => {
    const m = convertOpset(build(caseNamed('Dropout with an unused mask')), 11);
    expect(graphOf(m).nodes[0].outputs).toEqual(['y']);
  });

  it('converting to an opset the model already has, or below it, returns the same model', () => {
    const m = build(caseNamed('Scale'));
    expect(convertOpset(m, 7)).toBe(m);
    expect(convertOpset(m, 6)).toBe(m);
    const m11 = convertOpset(m, 11);
    expect(convertOpset(m11, 11)).toBe(m11);
  });

  it('refuses targets above 11 as a caller bug', () => {
    expect(() => convertOpset(build(caseNamed('Scale')), 13)).toThrow(InternalError);
  });

  it('an IR-3 model gets IR 6, and its initializers leave the input list (they would be overridable from IR 4)', async () => {
    const c = caseNamed('BatchNormalization spatial=1');
    const original = build(c, 3);
    expect(serializedInputNames(original)).toEqual(['x', 'g', 'b', 'm', 'v']);
    const converted = convertOpset(original, 11);
    expect(modelInfo(converted).irVersion).toBe(6);
    expect(serializedInputNames(converted)).toEqual(['x']);
    const feeds = feedsOf(c);
    expect(tensorMismatch((await run(converted, feeds)).get('y')!, (await run(original, feeds)).get('y')!, EXACT)).toBeUndefined();
  });

  it("a default domain spelled 'ai.onnx' is converted and keeps its spelling", () => {
    const proto = decodeModelProto(serializeModel(build(caseNamed('Clip min and max'))));
    const renamed: ModelProto = { ...proto, opset_import: [{ domain: 'ai.onnx', version: 7 }] };
    const converted = convertOpset(parseModel(encodeModelProto(renamed)), 11);
    expect(decodeModelProto(serializeModel(converted)).opset_import?.map((o) => [o.domain, Number(o.version)])).toEqual([['ai.onnx', 11]]);
    expect(opsOf(converted)).toEqual(['Clip']);
  });

  it('leaves nodes of other domains alone', () => {
    const m = createModel({
      name: 'ms',
      opsets: { '': 7, 'com.microsoft': 1 },
      inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [{ name: 'n', opType: 'Crop', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'], attributes: { border: ints(1) } }],
      initializers: [],
    });
    const converted = convertOpset(m, 11);
    expect(graphOf(converted).nodes.map((n) => [n.domain, n.opType])).toEqual([['com.microsoft', 'Crop']]);
    expect(modelInfo(converted).opsets.get('com.microsoft')).toBe(1);
  });
});

function serializedInputNames(model: OnnxModel): string[] {
  return (decodeModelProto(serializeModel(model)).graph?.input ?? []).map((v) => v.name ?? '');
}

// ---- blockers ---------------------------------------------------------------------------------

const blockerCases: {
  name: string;
  opset: number;
  nodes: NodeSpec[];
  outputs?: string[];
  initializers?: { name: string; tensor: Tensor }[];
  inputs?: Case['inputs'];
  reason: RegExp;
}[] = [
  { name: 'GRUUnit (experimental, no equivalent)', opset: 7, nodes: one('GRUUnit', {}), reason: /experimental op was removed at opset 10/ },
  { name: 'ATen', opset: 7, nodes: one('ATen', {}), reason: /experimental/ },
  {
    name: 'BatchNormalization spatial=0',
    opset: 7,
    nodes: one('BatchNormalization', { spatial: int(0) }, ['x', 'g', 'g', 'g', 'g']),
    initializers: [{ name: 'g', tensor: f32([3], [1, 1, 1]) }],
    reason: /spatial=0/,
  },
  {
    name: 'Dropout whose mask is used',
    opset: 7,
    nodes: one('Dropout', {}, ['x'], ['y', 'mask']),
    outputs: ['y', 'mask'],
    reason: /mask output 'mask' is used/,
  },
  {
    name: 'MeanVarianceNormalization without variance',
    opset: 7,
    nodes: one('MeanVarianceNormalization', { normalize_variance: int(0) }),
    reason: /normalize_variance=0/,
  },
  {
    name: 'Resize-10 nearest with mixed scales',
    opset: 10,
    nodes: one('Resize', {}, ['x', 's']),
    initializers: [{ name: 's', tensor: f32([4], [1, 1, 0.5, 2]) }],
    reason: /mix upsampling and downsampling/,
  },
  {
    name: 'Resize-10 nearest with run-time scales',
    opset: 10,
    nodes: one('Resize', {}, ['x', 's']),
    inputs: [...x4(), { name: 's', dims: [4] }],
    reason: /computed at run time/,
  },
  { name: 'Upsample cubic', opset: 7, nodes: one('Upsample', { mode: str('cubic'), scales: floats(1, 1, 2, 2) }), reason: /mode 'cubic'/ },
  { name: 'Crop with a short border', opset: 7, nodes: one('Crop', { border: ints(1, 1) }), reason: /border must hold 4 values/ },
  {
    name: 'Clip on a value of unknown type',
    opset: 7,
    reason: /element type of its input 'c' is neither declared nor traceable/,
    nodes: [
      { name: 'custom', opType: 'Mystery', domain: 'com.example', inputs: ['x'], outputs: ['c'] },
      { name: 'n', opType: 'Clip', inputs: ['c'], outputs: ['y'], attributes: { max: float(1) } },
    ],
  },
];

describe('blockers', () => {
  it.each(blockerCases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const model = createModel({
      name: 'blocked',
      opsets: { '': c.opset, 'com.example': 1 },
      inputs: (c.inputs ?? x4()).map((i) => ({ name: i.name, dtype: 'float32', shape: i.dims })),
      outputs: (c.outputs ?? ['y']).map((name) => ({ name, dtype: 'float32' })),
      nodes: c.nodes,
      initializers: c.initializers ?? [],
    });
    const blockers = opsetConversionBlockers(model, 11);
    const blocked = c.nodes.find((n) => n.name === 'n')!;
    expect(blockers).toEqual([{ node: 'n', opType: blocked.opType, reason: expect.stringMatching(c.reason) }]);
    const error = catchError(() => convertOpset(model, 11));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toContain(`node 'n' (${blocked.opType}): `);
    expect(error.message).toMatch(c.reason);
    expect(error.message).toMatch(/^Cannot convert the model from opset \d+ to 11: /);
  });

  it('lists every blocked node', () => {
    const model = createModel({
      name: 'two',
      opsets: { '': 7 },
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 4, 4] }],
      outputs: [{ name: 'z', dtype: 'float32' }],
      nodes: [
        { name: 'a', opType: 'GRUUnit', inputs: ['x'], outputs: ['y'] },
        { name: 'b', opType: 'ATen', inputs: ['y'], outputs: ['z'] },
      ],
      initializers: [],
    });
    expect(opsetConversionBlockers(model, 11).map((b) => [b.node, b.opType])).toEqual([
      ['a', 'GRUUnit'],
      ['b', 'ATen'],
    ]);
    // Experimental ops are valid up to opset 9: nothing to do there.
    expect(opsetConversionBlockers(model, 9)).toEqual([]);
  });

  it('refuses a model older than opset 7 as a whole', () => {
    const model = build({ name: 'old', opset: 6, inputs: x4(), nodes: one('Relu', {}), outputs: ['y'] });
    expect(opsetConversionBlockers(model, 11)).toEqual([
      { node: '', opType: '', reason: expect.stringMatching(/opset is 6, older than 7/) },
    ]);
    expect(() => convertOpset(model, 11)).toThrow(UserError);
  });

  it('blocks a node whose subgraph holds an op that would need rewriting', () => {
    const branch = (name: string, op: 'Slice' | 'Relu') => ({
      name,
      node: [
        op === 'Slice'
          ? {
              name: `${name}_slice`,
              op_type: 'Slice',
              input: ['x'],
              output: [`${name}_out`],
              attribute: [
                { name: 'starts', type: 7, ints: [0] },
                { name: 'ends', type: 7, ints: [1] },
              ],
            }
          : { name: `${name}_relu`, op_type: 'Relu', input: ['x'], output: [`${name}_out`] },
      ],
      output: [{ name: `${name}_out`, type: { tensor_type: { elem_type: 1 } } }],
    });
    const proto = decodeModelProto(
      serializeModel(
        createModel({
          name: 'if',
          opsets: { '': 7 },
          inputs: [
            { name: 'x', dtype: 'float32', shape: [3] },
            { name: 'cond', dtype: 'bool', shape: [] },
          ],
          outputs: [{ name: 'y', dtype: 'float32' }],
          nodes: [{ name: 'if', opType: 'If', inputs: ['cond'], outputs: ['y'] }],
          initializers: [],
        }),
      ),
    );
    const withBranches = (thenOp: 'Slice' | 'Relu'): OnnxModel =>
      parseModel(
        encodeModelProto({
          ...proto,
          graph: {
            ...proto.graph,
            node: [
              {
                ...proto.graph!.node![0],
                attribute: [
                  { name: 'then_branch', type: 5, g: branch('then', thenOp) },
                  { name: 'else_branch', type: 5, g: branch('else', 'Relu') },
                ],
              },
            ],
          },
        }),
      );
    expect(opsetConversionBlockers(withBranches('Slice'), 11)).toEqual([
      { node: 'if', opType: 'If', reason: expect.stringMatching(/subgraph holds node 'then_slice' \(Slice\)/) },
    ]);
    expect(opsetConversionBlockers(withBranches('Relu'), 11)).toEqual([]);
    expect(modelInfo(convertOpset(withBranches('Relu'), 11)).opsets.get('')).toBe(11);
  });
});

function catchError(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

// ---- why: QDQ fusion at an old opset -----------------------------------------------------------

describe('a QDQ model at opset 7', () => {
  /** x -> Q/DQ (com.microsoft) -> Conv (DQ weights) -> Q/DQ -> y: the shape onnxruntime fuses into QLinearConv. */
  function qdqModel(): OnnxModel {
    const ms = 'com.microsoft';
    const scalar = (v: number) => f32([], [v]);
    return createModel({
      name: 'qdq',
      opsets: { '': 7, [ms]: 1 },
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 6, 6] }],
      outputs: [{ name: 'y', dtype: 'float32' }],
      nodes: [
        { name: 'qx', opType: 'QuantizeLinear', domain: ms, inputs: ['x', 'sx', 'zx'], outputs: ['x_q'] },
        { name: 'dqx', opType: 'DequantizeLinear', domain: ms, inputs: ['x_q', 'sx', 'zx'], outputs: ['x_dq'] },
        { name: 'dqw', opType: 'DequantizeLinear', domain: ms, inputs: ['w_q', 'sw', 'zw'], outputs: ['w_dq'] },
        { name: 'conv', opType: 'Conv', inputs: ['x_dq', 'w_dq'], outputs: ['c'], attributes: { kernel_shape: ints(3, 3) } },
        { name: 'qy', opType: 'QuantizeLinear', domain: ms, inputs: ['c', 'sy', 'zy'], outputs: ['y_q'] },
        { name: 'dqy', opType: 'DequantizeLinear', domain: ms, inputs: ['y_q', 'sy', 'zy'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'sx', tensor: scalar(0.025) },
        { name: 'zx', tensor: makeTensor('uint8', [], Uint8Array.from([128])) },
        { name: 'sw', tensor: scalar(0.02) },
        { name: 'zw', tensor: makeTensor('uint8', [], Uint8Array.from([128])) },
        {
          name: 'w_q',
          tensor: makeTensor(
            'uint8',
            [2, 2, 3, 3],
            Uint8Array.from({ length: 36 }, (_, i) => 100 + ((i * 37) % 57)),
          ),
        },
        { name: 'sy', tensor: scalar(0.05) },
        { name: 'zy', tensor: makeTensor('uint8', [], Uint8Array.from([128])) },
      ],
    });
  }

  it('fails to load with default options and loads after conversion to opset 11, within one output step', async () => {
    const original = qdqModel();
    const feeds = new Map([['x', randomTensor([1, 2, 6, 6], 3)]]);
    await expect(run(original, feeds)).rejects.toThrow(/QLinearConv|domain_version of 7/);
    const reference = (await run(original, feeds, { disableQdqFusion: true })).get('y')!;
    const converted = convertOpset(original, 11);
    const fused = (await run(converted, feeds)).get('y')!;
    expect(tensorMismatch(fused, reference, { atol: 0.05 + 1e-6, rtol: 0 })).toBeUndefined();
  });
});

// ---- the real style-transfer models ---------------------------------------------------------

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const STYLE_MODELS = ['udnie', 'candy'].map((name) => path.resolve(repoRoot, `../shared/models/${name}.onnx`));
const haveStyleModels = STYLE_MODELS.every((file) => existsSync(file));
if (!haveStyleModels) console.log(`onnx-opset-convert: style-model checks skipped, ${STYLE_MODELS.join(' or ')} not found`);

describe.skipIf(!haveStyleModels)('udnie and candy (../shared/models), opset 7 to 11', () => {
  it.each(STYLE_MODELS.map((file) => [path.basename(file), file] as const))('%s converts and computes the same image', async (_, file) => {
    const original = readModel(file);
    const converted = convertOpset(original, 11);
    expect(modelInfo(converted).opsets.get('')).toBe(11);
    expect(modelInfo(converted).irVersion).toBe(6);
    expect(serializedInputNames(converted)).toEqual(['inputImage']);
    const ops = opsOf(converted);
    expect(ops).toHaveLength(59);
    for (const gone of ['ImageScaler', 'Crop', 'Affine']) expect(ops).not.toContain(gone);
    expect(ops.filter((op) => op === 'Slice')).toHaveLength(7);

    const feeds = pixelFeeds(original, 7);
    const expected = (await run(original, feeds)).get('outputImage')!;
    const actual = (await run(converted, feeds)).get('outputImage')!;
    expect(actual.dims).toEqual([1, 3, 720, 720]);
    expect(tensorMismatch(actual, expected, { atol: 1e-3, rtol: 0 })).toBeUndefined();
  });
});
