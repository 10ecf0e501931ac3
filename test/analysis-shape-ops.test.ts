import { describe, expect, it } from 'vitest';
import type { Dim } from '../src/core/graph.js';
import { makeTensor } from '../src/core/tensor.js';
import { f32, i64, inferOp, INT64_MAX, shapeOf, type AttrInput, type InputSpec } from './analysis-shape-helpers.js';

type Row = readonly [
  label: string,
  op: string,
  inputs: readonly InputSpec[],
  attrs: Readonly<Record<string, AttrInput>>,
  opset: number,
  expected: readonly Dim[] | null,
];

function table(rows: readonly Row[]) {
  it.each(rows.map((r) => [...r]))('%s', (_label, op, inputs, a, opset, expected) => {
    expect(shapeOf(op as string, inputs as InputSpec[], a as Record<string, AttrInput>, opset as number)).toEqual(expected);
  });
}

describe('elementwise', () => {
  const unary = [
    'Relu',
    'Tanh',
    'Sigmoid',
    'LeakyRelu',
    'Clip',
    'Sqrt',
    'Reciprocal',
    'Exp',
    'Log',
    'Neg',
    'Abs',
    'Identity',
    'Erf',
    'Softplus',
    'HardSigmoid',
    'PRelu',
    'Softmax',
    'LogSoftmax',
    'LRN',
    'InstanceNormalization',
    'ImageScaler',
    'Affine',
  ];
  it.each(unary)('%s keeps shape and dtype', (op) => {
    expect(inferOp(op, [['N', 3, 5]])[0]).toEqual({ dtype: 'float32', shape: ['N', 3, 5] });
  });

  table([
    [
      'same shapes',
      'Add',
      [
        [2, 3],
        [2, 3],
      ],
      {},
      13,
      [2, 3],
    ],
    [
      'numpy broadcast',
      'Mul',
      [
        [2, 1, 4],
        [3, 1],
      ],
      {},
      13,
      [2, 3, 4],
    ],
    ['scalar operand', 'Sub', [[], [2, 3]], {}, 13, [2, 3]],
    [
      'symbol against 1',
      'Div',
      [
        ['N', 1],
        [1, 5],
      ],
      {},
      13,
      ['N', 5],
    ],
    ['symbol against a number', 'Pow', [['N', 4], [4]], {}, 13, ['N', 4]],
    ['number beats symbol', 'Max', [['N'], [7]], {}, 13, [7]],
    ['two symbols', 'Min', [['N'], ['M']], {}, 13, [null]],
    ['clash', 'Add', [[4], [3]], {}, 13, null],
    [
      'variadic Sum',
      'Sum',
      [
        [3, 1],
        [1, 4],
        [2, 1, 1],
      ],
      {},
      13,
      [2, 3, 4],
    ],
    ['Where broadcasts three', 'Where', [{ dtype: 'bool', shape: [2, 1] }, [1, 3], []], {}, 13, [2, 3]],
    ['opset 6 broadcast=1 keeps A', 'Add', [[2, 3, 4], [3]], { broadcast: 1, axis: 1 }, 6, [2, 3, 4]],
  ]);

  it.each([
    ['Equal', 'bool'],
    ['Less', 'bool'],
    ['Greater', 'bool'],
    ['Not', 'bool'],
    ['Add', 'float32'],
  ])('%s gives %s', (op, dtype) => {
    expect(inferOp(op, [[2], [2]])[0].dtype).toBe(dtype);
  });

  it('Cast takes the dtype from `to`', () => {
    expect(inferOp('Cast', [[2, 3]], { to: 7 })[0]).toEqual({ dtype: 'int64', shape: [2, 3] });
    expect(inferOp('Cast', [[2, 3]], { to: 10 })[0].dtype).toBe('float16');
  });

  it('Where takes the dtype of X', () => {
    expect(
      inferOp('Where', [
        { dtype: 'bool', shape: [2] },
        { dtype: 'int64', shape: [2] },
        { dtype: 'int64', shape: [2] },
      ])[0].dtype,
    ).toBe('int64');
  });

  it('Dropout mask is bool from opset 10, BatchNormalization extra outputs are [C]', () => {
    expect(inferOp('Dropout', [[2, 3]], {}, { outputs: 2 })[1]).toEqual({ dtype: 'bool', shape: [2, 3] });
    const bn = inferOp('BatchNormalization', [[1, 4, 5, 5], [4], [4], [4], [4]], {}, { outputs: 3 });
    expect(bn.map((v) => v.shape)).toEqual([[1, 4, 5, 5], [4], [4]]);
  });

  it('LayerNormalization: Y like X, mean and inv-std-dev with 1 from axis', () => {
    const out = inferOp('LayerNormalization', [[2, 5, 8], [8], [8]], { axis: -1 }, { outputs: 3, opset: 17 });
    expect(out.map((v) => v.shape)).toEqual([
      [2, 5, 8],
      [2, 5, 1],
      [2, 5, 1],
    ]);
    expect(out[1].dtype).toBe('float32');
  });

  it('QuantizeLinear: dtype from the zero point, uint8 without; DequantizeLinear: float32', () => {
    const zp = makeTensor('int8', [], Int8Array.from([0]));
    expect(inferOp('QuantizeLinear', [[1, 3], f32([0.1], []), zp])[0]).toEqual({ dtype: 'int8', shape: [1, 3] });
    expect(inferOp('QuantizeLinear', [[1, 3], f32([0.1], [])])[0].dtype).toBe('uint8');
    expect(inferOp('DequantizeLinear', [{ dtype: 'int8', shape: [1, 3] }, f32([0.1], []), zp])[0]).toEqual({
      dtype: 'float32',
      shape: [1, 3],
    });
  });
});

describe('convolution and pooling', () => {
  table([
    [
      'Conv pads and strides',
      'Conv',
      [
        [1, 3, 32, 32],
        [8, 3, 3, 3],
      ],
      { pads: [1, 1, 1, 1], strides: [2, 2] },
      13,
      [1, 8, 16, 16],
    ],
    [
      'Conv dilations',
      'Conv',
      [
        [1, 3, 32, 32],
        [8, 3, 3, 3],
      ],
      { dilations: [2, 2] },
      13,
      [1, 8, 28, 28],
    ],
    [
      'Conv SAME_UPPER',
      'Conv',
      [
        [1, 3, 31, 31],
        [8, 3, 3, 3],
      ],
      { auto_pad: 'SAME_UPPER', strides: [2, 2] },
      13,
      [1, 8, 16, 16],
    ],
    [
      'Conv SAME_LOWER',
      'Conv',
      [
        [1, 3, 31, 30],
        [8, 3, 3, 3],
      ],
      { auto_pad: 'SAME_LOWER', strides: [2, 3] },
      13,
      [1, 8, 16, 10],
    ],
    [
      'Conv VALID',
      'Conv',
      [
        [1, 3, 32, 32],
        [8, 3, 3, 3],
      ],
      { auto_pad: 'VALID', strides: [2, 2] },
      13,
      [1, 8, 15, 15],
    ],
    [
      'Conv group',
      'Conv',
      [
        [1, 6, 9, 9],
        [6, 1, 3, 3],
      ],
      { group: 6 },
      13,
      [1, 6, 7, 7],
    ],
    [
      'Conv 1-D',
      'Conv',
      [
        [1, 2, 10],
        [4, 2, 3],
      ],
      {},
      13,
      [1, 4, 8],
    ],
    [
      'Conv 3-D asymmetric pads',
      'Conv',
      [
        [1, 1, 5, 6, 7],
        [2, 1, 3, 3, 3],
      ],
      { pads: [0, 1, 2, 0, 0, 1] },
      13,
      [1, 2, 3, 5, 8],
    ],
    [
      'Conv symbolic batch',
      'Conv',
      [
        ['N', 3, 32, 32],
        [8, 3, 3, 3],
      ],
      {},
      13,
      ['N', 8, 30, 30],
    ],
    [
      'Conv symbolic spatial',
      'Conv',
      [
        ['N', 3, 'H', 32],
        [8, 3, 3, 3],
      ],
      {},
      13,
      ['N', 8, null, 30],
    ],
    [
      'Conv kernel_shape when W is unknown',
      'Conv',
      [[1, 3, 10, 10], { dtype: 'float32', shape: null }],
      { kernel_shape: [5, 5] },
      13,
      [1, null, 6, 6],
    ],
    [
      'ConvTranspose pads and output_padding',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] },
      13,
      [1, 2, 16, 16],
    ],
    [
      'ConvTranspose group',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { group: 2 },
      13,
      [1, 4, 10, 10],
    ],
    [
      'ConvTranspose output_shape',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], output_shape: [16, 17] },
      13,
      [1, 2, 16, 17],
    ],
    [
      'ConvTranspose output_shape of the wrong rank',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { output_shape: [1, 2, 10, 10] },
      13,
      [1, 2, null, null],
    ],
    [
      'ConvTranspose SAME_UPPER with stride above the kernel',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [4, 4], auto_pad: 'SAME_UPPER' },
      13,
      [1, 2, 31, 31],
    ],
    [
      'ConvTranspose SAME_UPPER',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], auto_pad: 'SAME_UPPER' },
      13,
      [1, 2, 16, 16],
    ],
    [
      'ConvTranspose SAME_LOWER',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], auto_pad: 'SAME_LOWER' },
      13,
      [1, 2, 16, 16],
    ],
    [
      'ConvTranspose VALID',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], auto_pad: 'VALID' },
      13,
      [1, 2, 17, 17],
    ],
    [
      'ConvTranspose dilations',
      'ConvTranspose',
      [
        [1, 4, 8, 8],
        [4, 2, 3, 3],
      ],
      { strides: [2, 2], dilations: [2, 2] },
      13,
      [1, 2, 19, 19],
    ],
    ['MaxPool', 'MaxPool', [[1, 3, 32, 32]], { kernel_shape: [2, 2], strides: [2, 2] }, 13, [1, 3, 16, 16]],
    ['MaxPool floor', 'MaxPool', [[1, 3, 32, 32]], { kernel_shape: [3, 3], strides: [2, 2] }, 13, [1, 3, 15, 15]],
    ['MaxPool ceil_mode', 'MaxPool', [[1, 3, 32, 32]], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 13, [1, 3, 16, 16]],
    [
      'MaxPool ceil_mode drops a window in the padding',
      'MaxPool',
      [[1, 1, 5, 5]],
      { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
      13,
      [1, 1, 3, 3],
    ],
    ['MaxPool dilations', 'MaxPool', [[1, 1, 10, 10]], { kernel_shape: [3, 3], dilations: [2, 2] }, 13, [1, 1, 6, 6]],
    [
      'AveragePool SAME_UPPER',
      'AveragePool',
      [[1, 3, 7, 7]],
      { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' },
      13,
      [1, 3, 4, 4],
    ],
    ['AveragePool pads', 'AveragePool', [[1, 3, 7, 7]], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 13, [1, 3, 7, 7]],
    ['LpPool', 'LpPool', [[1, 3, 8]], { kernel_shape: [2], strides: [2] }, 13, [1, 3, 4]],
    ['MaxPool without kernel_shape', 'MaxPool', [[1, 3, 8, 8]], {}, 13, [1, 3, null, null]],
    ['GlobalAveragePool', 'GlobalAveragePool', [['N', 3, 7, 9]], {}, 13, ['N', 3, 1, 1]],
    ['GlobalMaxPool 1-D', 'GlobalMaxPool', [[2, 4, 9]], {}, 13, [2, 4, 1]],
  ]);

  it('MaxPool indices are int64', () => {
    expect(inferOp('MaxPool', [[1, 1, 4, 4]], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2 })[1]).toEqual({
      dtype: 'int64',
      shape: [1, 1, 2, 2],
    });
  });
});

describe('matrix products and layout', () => {
  table([
    [
      'Gemm',
      'Gemm',
      [
        [4, 3],
        [3, 5],
      ],
      {},
      13,
      [4, 5],
    ],
    [
      'Gemm transA',
      'Gemm',
      [
        [3, 4],
        [3, 5],
      ],
      { transA: 1 },
      13,
      [4, 5],
    ],
    ['Gemm transB', 'Gemm', [[4, 3], [5, 3], [5]], { transB: 1 }, 13, [4, 5]],
    [
      'MatMul batched',
      'MatMul',
      [
        [2, 3, 4],
        [4, 5],
      ],
      {},
      13,
      [2, 3, 5],
    ],
    [
      'MatMul batch broadcast',
      'MatMul',
      [
        [2, 1, 3, 4],
        [5, 4, 6],
      ],
      {},
      13,
      [2, 5, 3, 6],
    ],
    ['MatMul 1-D left', 'MatMul', [[4], [4, 5]], {}, 13, [5]],
    ['MatMul 1-D right', 'MatMul', [[2, 3, 4], [4]], {}, 13, [2, 3]],
    ['MatMul 1-D both', 'MatMul', [[4], [4]], {}, 13, []],
    [
      'MatMul symbolic',
      'MatMul',
      [
        ['B', 'T', 4],
        [4, 5],
      ],
      {},
      13,
      ['B', 'T', 5],
    ],
    ['Flatten axis 1', 'Flatten', [[2, 3, 4, 5]], {}, 13, [2, 60]],
    ['Flatten axis 0', 'Flatten', [[2, 3, 4, 5]], { axis: 0 }, 13, [1, 120]],
    ['Flatten axis -1', 'Flatten', [[2, 3, 4, 5]], { axis: -1 }, 13, [24, 5]],
    ['Flatten axis r', 'Flatten', [[2, 3, 4, 5]], { axis: 4 }, 13, [120, 1]],
    ['Flatten symbolic batch', 'Flatten', [['N', 3, 4]], {}, 13, ['N', 12]],
    ['Reshape 0 and -1', 'Reshape', [[2, 3, 4], i64([0, -1])], {}, 13, [2, 12]],
    ['Reshape -1 alone', 'Reshape', [[2, 3, 4], i64([-1])], {}, 13, [24]],
    ['Reshape 0 in the middle', 'Reshape', [[2, 3, 4], i64([4, 0, -1])], {}, 13, [4, 3, 2]],
    ['Reshape allowzero keeps 0', 'Reshape', [[0, 3], i64([3, 0])], { allowzero: 1 }, 14, [3, 0]],
    ['Reshape symbolic 0 cancels', 'Reshape', [['N', 3, 4], i64([0, -1])], {}, 13, ['N', 12]],
    ['Reshape symbolic -1 keeps the symbol', 'Reshape', [['N', 3, 4], i64([12, -1])], {}, 13, [12, 'N']],
    ['Reshape -1 with two symbols', 'Reshape', [['N', 'M', 4], i64([-1, 4])], {}, 13, [null, 4]],
    ['Reshape indivisible', 'Reshape', [[2, 3], i64([4, -1])], {}, 13, [4, null]],
    ['Reshape attr (opset 1)', 'Reshape', [[2, 3, 4]], { shape: [6, -1] }, 1, [6, 4]],
    ['Reshape unknown shape input', 'Reshape', [[2, 3, 4], { dtype: 'int64', shape: [3] }], {}, 13, [null, null, null]],
    ['Transpose perm', 'Transpose', [[1, 2, 3]], { perm: [2, 0, 1] }, 13, [3, 1, 2]],
    ['Transpose default reverses', 'Transpose', [[1, 2, 3]], {}, 13, [3, 2, 1]],
    ['Transpose bad perm', 'Transpose', [[1, 2, 3]], { perm: [0, 0, 1] }, 13, null],
    ['Squeeze attr axes', 'Squeeze', [[2, 1, 3, 1]], { axes: [1, -1] }, 11, [2, 3]],
    ['Squeeze input axes', 'Squeeze', [[2, 1, 3], i64([1])], {}, 13, [2, 3]],
    ['Squeeze all ones', 'Squeeze', [[1, 3, 1, 5]], {}, 13, [3, 5]],
    ['Squeeze all with a symbol', 'Squeeze', [['N', 3, 1]], {}, 13, null],
    ['Unsqueeze attr axes', 'Unsqueeze', [[3, 4]], { axes: [0, 3] }, 11, [1, 3, 4, 1]],
    ['Unsqueeze input axes', 'Unsqueeze', [[3, 4], i64([-1])], {}, 13, [3, 4, 1]],
    ['Unsqueeze scalar', 'Unsqueeze', [[], i64([0])], {}, 13, [1]],
    [
      'Concat',
      'Concat',
      [
        [2, 3],
        [2, 5],
      ],
      { axis: 1 },
      13,
      [2, 8],
    ],
    [
      'Concat negative axis',
      'Concat',
      [
        [2, 3, 1],
        [2, 3, 4],
      ],
      { axis: -1 },
      13,
      [2, 3, 5],
    ],
    [
      'Concat symbolic',
      'Concat',
      [
        ['N', 3],
        ['N', 4],
      ],
      { axis: 1 },
      13,
      ['N', 7],
    ],
    [
      'Concat along a symbol',
      'Concat',
      [
        ['N', 3],
        ['M', 3],
      ],
      { axis: 0 },
      13,
      [null, 3],
    ],
    ['Slice attrs (opset 9)', 'Slice', [[10, 20]], { starts: [2], ends: [8], axes: [0] }, 9, [6, 20]],
    ['Slice inputs with steps', 'Slice', [[10, 20], i64([1, -5]), i64([INT64_MAX, -1]), i64([0, 1]), i64([2, 1])], {}, 13, [5, 4]],
    ['Slice reversed', 'Slice', [[10], i64([-1]), i64([-INT64_MAX]), i64([0]), i64([-1])], {}, 13, [10]],
    ['Slice reversed step 3', 'Slice', [[10], i64([8]), i64([1]), i64([0]), i64([-3])], {}, 13, [3]],
    ['Slice clamps', 'Slice', [[10, 20], i64([-100]), i64([100])], {}, 13, [10, 20]],
    ['Slice empty', 'Slice', [[10], i64([7]), i64([3])], {}, 13, [0]],
    ['Slice keeps a fully taken symbol', 'Slice', [['N', 20], i64([0, 5]), i64([INT64_MAX, 10]), i64([0, 1])], {}, 13, ['N', 5]],
    ['Slice unknown starts', 'Slice', [[10, 20], { dtype: 'int64', shape: [1] }, i64([5]), i64([1])], {}, 13, [10, null]],
    ['Pad attr pads (opset 2)', 'Pad', [[1, 3, 10, 10]], { pads: [0, 0, 1, 2, 0, 0, 3, 4] }, 2, [1, 3, 14, 16]],
    ['Pad input pads', 'Pad', [[1, 3, 10, 10], i64([0, 0, 1, 2, 0, 0, 3, 4])], {}, 11, [1, 3, 14, 16]],
    ['Pad negative', 'Pad', [[1, 3, 10, 10], i64([0, 0, -1, -1, 0, 0, -1, -1])], {}, 13, [1, 3, 8, 8]],
    ['Pad axes (opset 18)', 'Pad', [[1, 3, 10, 10], i64([1, 2, 3, 4]), '', i64([-2, 3])], {}, 18, [1, 3, 14, 16]],
    ['Pad keeps an unpadded symbol', 'Pad', [['N', 3], i64([0, 1, 0, 1])], {}, 13, ['N', 5]],
    ['Gather', 'Gather', [[5, 6, 7], { dtype: 'int64', shape: [2, 3] }], { axis: 1 }, 13, [5, 2, 3, 7]],
    ['Gather scalar index', 'Gather', [[5, 6, 7], i64([1], [])], {}, 13, [6, 7]],
    ['GatherElements', 'GatherElements', [[5, 6], { dtype: 'int64', shape: [5, 2] }], { axis: 1 }, 13, [5, 2]],
    ['GatherND', 'GatherND', [[2, 3, 4], { dtype: 'int64', shape: [5, 2] }], {}, 13, [5, 4]],
    ['Expand', 'Expand', [[3, 1], i64([2, 1, 4])], {}, 13, [2, 3, 4]],
    ['Expand to a smaller rank', 'Expand', [[2, 3, 1], i64([5])], {}, 13, [2, 3, 5]],
    ['Tile', 'Tile', [[2, 3], i64([2, 2])], {}, 13, [4, 6]],
    ['DepthToSpace', 'DepthToSpace', [[1, 8, 2, 3]], { blocksize: 2 }, 13, [1, 2, 4, 6]],
    ['SpaceToDepth', 'SpaceToDepth', [[1, 2, 4, 6]], { blocksize: 2 }, 13, [1, 8, 2, 3]],
    ['Crop border', 'Crop', [[1, 3, 20, 30]], { border: [1, 2, 3, 4] }, 7, [1, 3, 14, 26]],
    ['Crop border and scale', 'Crop', [[1, 3, 20, 30]], { border: [1, 2, 3, 4], scale: [5, 6] }, 7, [1, 3, 5, 6]],
  ]);

  it('Split: attr sizes, input sizes, equal parts, num_outputs', () => {
    const shapes = (inputs: InputSpec[], a: Record<string, AttrInput>, outputs: number, opset = 13) =>
      inferOp('Split', inputs, a, { outputs, opset }).map((v) => v.shape);
    expect(shapes([[6, 4]], { split: [2, 4] }, 2, 11)).toEqual([
      [2, 4],
      [4, 4],
    ]);
    expect(shapes([[6, 4], i64([1, 3])], { axis: 1 }, 2)).toEqual([
      [6, 1],
      [6, 3],
    ]);
    expect(shapes([[6, 4]], {}, 3)).toEqual([
      [2, 4],
      [2, 4],
      [2, 4],
    ]);
    expect(shapes([[10]], { num_outputs: 4 }, 4, 18)).toEqual([[3], [3], [3], [1]]);
    expect(shapes([[7, 2]], {}, 2)).toEqual([
      [null, 2],
      [null, 2],
    ]);
  });
});

describe('resize, reductions and generators', () => {
  table([
    ['Resize opset 10 scales', 'Resize', [[1, 3, 8, 8], f32([1, 1, 2, 2])], {}, 10, [1, 3, 16, 16]],
    ['Resize opset 11 roi and scales', 'Resize', [[1, 3, 8, 8], f32([]), f32([1, 1, 0.5, 1.5])], {}, 11, [1, 3, 4, 12]],
    ['Resize omitted roi', 'Resize', [[1, 3, 7, 300], '', f32([1, 1, 0.5, 1 / 3])], {}, 13, [1, 3, 3, 100]],
    ['Resize sizes', 'Resize', [[1, 3, 8, 8], '', '', i64([1, 3, 7, 9])], {}, 13, [1, 3, 7, 9]],
    ['Resize empty scales, sizes', 'Resize', [[1, 3, 8, 8], f32([]), f32([]), i64([1, 3, 5, 5])], {}, 11, [1, 3, 5, 5]],
    ['Resize sizes on axes', 'Resize', [[1, 3, 8, 8], '', '', i64([4, 6])], { axes: [2, 3] }, 18, [1, 3, 4, 6]],
    [
      'Resize not_larger',
      'Resize',
      [[1, 3, 32, 16], '', '', i64([64, 64])],
      { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' },
      18,
      [1, 3, 64, 32],
    ],
    [
      'Resize not_smaller',
      'Resize',
      [[1, 3, 32, 16], '', '', i64([64, 64])],
      { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' },
      18,
      [1, 3, 128, 64],
    ],
    ['Resize dynamic scales', 'Resize', [['N', 3, 8, 8], '', { dtype: 'float32', shape: [4] }], {}, 13, [null, null, null, null]],
    ['Resize keeps a symbol at scale 1', 'Resize', [['N', 3, 8, 8], '', f32([1, 1, 2, 2])], {}, 13, ['N', 3, 16, 16]],
    ['Upsample attr scales (opset 7)', 'Upsample', [[1, 3, 8, 8]], { scales: { floats: [1, 1, 2, 2.5] } }, 7, [1, 3, 16, 20]],
    ['Upsample input scales (opset 9)', 'Upsample', [[1, 3, 8, 8], f32([1, 1, 2, 2])], {}, 9, [1, 3, 16, 16]],
    ['ReduceMean axes keepdims', 'ReduceMean', [[1, 3, 8, 8]], { axes: [2, 3] }, 13, [1, 3, 1, 1]],
    ['ReduceMean keepdims 0', 'ReduceMean', [[1, 3, 8, 8]], { axes: [2, -1], keepdims: 0 }, 13, [1, 3]],
    ['ReduceMax all axes', 'ReduceMax', [[2, 3]], {}, 13, [1, 1]],
    ['ReduceProd all axes keepdims 0', 'ReduceProd', [[2, 3]], { keepdims: 0 }, 13, []],
    ['ReduceSum input axes (opset 13)', 'ReduceSum', [[2, 3, 4], i64([1])], {}, 13, [2, 1, 4]],
    ['ReduceSum noop_with_empty_axes', 'ReduceSum', [[2, 3, 4]], { noop_with_empty_axes: 1 }, 13, [2, 3, 4]],
    ['ReduceMin input axes (opset 18)', 'ReduceMin', [[2, 3, 4], i64([0, 2])], { keepdims: 0 }, 18, [3]],
    ['ReduceL2 dynamic axes keepdims', 'ReduceL2', [[2, 3], { dtype: 'int64', shape: [1] }], {}, 18, [null, null]],
    ['ArgMax', 'ArgMax', [[2, 3, 4]], { axis: 1, keepdims: 0 }, 13, [2, 4]],
    ['ArgMin keepdims', 'ArgMin', [[2, 3, 4]], { axis: -1 }, 13, [2, 3, 1]],
    ['Shape', 'Shape', [[2, 3, 4]], {}, 13, [3]],
    ['Shape start/end (opset 15)', 'Shape', [[2, 3, 4, 5]], { start: 1, end: -1 }, 15, [2]],
    ['ConstantOfShape', 'ConstantOfShape', [i64([2, 3])], {}, 13, [2, 3]],
    ['Range', 'Range', [i64([0], []), i64([10], []), i64([3], [])], {}, 13, [4]],
    ['Range negative delta', 'Range', [f32([5], []), f32([0], []), f32([-2], [])], {}, 13, [3]],
    [
      'Einsum is not inferred',
      'Einsum',
      [
        [2, 3],
        [3, 4],
      ],
      { equation: 'ij,jk->ik' },
      13,
      null,
    ],
    ['TopK', 'TopK', [[3, 10], i64([4])], {}, 13, [3, 4]],
    ['OneHot', 'OneHot', [{ dtype: 'int64', shape: [2, 3] }, i64([5], []), f32([0, 1])], { axis: 1 }, 13, [2, 5, 3]],
  ]);

  it('generators have the right dtypes', () => {
    expect(inferOp('Shape', [[2, 3]])[0].dtype).toBe('int64');
    expect(inferOp('ArgMax', [[2, 3]])[0].dtype).toBe('int64');
    expect(inferOp('ConstantOfShape', [i64([2])], { value: i64([7], [1]) })[0].dtype).toBe('int64');
    expect(inferOp('ConstantOfShape', [i64([2])])[0].dtype).toBe('float32');
    expect(inferOp('Constant', [], { value: i64([1, 2, 3, 4, 5, 6], [2, 3]) })[0]).toEqual({ dtype: 'int64', shape: [2, 3] });
    expect(inferOp('Constant', [], { value_floats: { floats: [1, 2] } })[0]).toEqual({ dtype: 'float32', shape: [2] });
    expect(inferOp('Constant', [], { value_int: 3 })[0]).toEqual({ dtype: 'int64', shape: [] });
  });

  it('LSTM and GRU outputs', () => {
    const lstm = inferOp(
      'LSTM',
      [
        [7, 2, 5],
        [2, 48, 5],
        [2, 48, 12],
      ],
      { hidden_size: 12, direction: 'bidirectional' },
      { outputs: 3 },
    );
    expect(lstm.map((v) => v.shape)).toEqual([
      [7, 2, 2, 12],
      [2, 2, 12],
      [2, 2, 12],
    ]);
    const gru = inferOp(
      'GRU',
      [
        [2, 7, 5],
        [1, 36, 5],
        [1, 36, 12],
      ],
      { layout: 1 },
      { outputs: 2, opset: 14 },
    );
    expect(gru.map((v) => v.shape)).toEqual([
      [2, 7, 1, 12],
      [2, 1, 12],
    ]);
  });
});
