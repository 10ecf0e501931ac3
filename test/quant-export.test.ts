import { describe, expect, it } from 'vitest';
import { ortExport, type OrtTensorOverride } from '../src/quant/export-ort.js';
import { rknnDtype, rknnExport, type RknnDtype, type RknnPlatform } from '../src/quant/export-rknn.js';
import { isTrtexecName, tensorRtExport } from '../src/quant/export-tensorrt.js';
import { resolvePlan, type Override } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import type { Precision } from '../src/quant/profile.js';
import { layerOutputTypesSpec, layerPrecisionsSpec, shellQuote } from '../src/store/plan-export-tensorrt.js';
import { graphOf, smallNet } from './quant-fixtures.js';

const generic = loadProfile('generic-int8');
const fp16Profile = loadProfile('int8-fp16');

/**
 * x ─┬→ convA (int8)  → a → convB (int16) → b
 *    ├→ convC (a16w8) → c
 *    ├→ convD (fp32)  → d
 *    └→ convE (fp16)  → e
 * m → matmul (int16, weight [5,6]) → mm;  g → gemm (a16w8, transB=1, weight [6,5]) → gm
 */
const widths = graphOf(
  [
    ['convA', 'Conv', ['x', 'wA'], ['a']],
    ['convB', 'Conv', ['a', 'wB', 'bB'], ['b']],
    ['convC', 'Conv', ['x', 'wC'], ['c']],
    ['convD', 'Conv', ['x', 'wD'], ['d']],
    ['convE', 'Conv', ['x', 'wE'], ['e']],
    ['matmul', 'MatMul', ['m', 'wM'], ['mm']],
    ['gemm', 'Gemm', ['g', 'wG'], ['gm'], { transB: { kind: 'int', value: 1 } }],
  ],
  {
    inputs: [
      ['x', [1, 3, 8, 8]],
      ['m', [2, 5]],
      ['g', [2, 5]],
    ],
    outputs: ['b', 'c', 'd', 'e', 'mm', 'gm'],
    initializers: [
      ['wA', [4, 3, 1, 1]],
      ['wB', [4, 4, 1, 1]],
      ['bB', [4]],
      ['wC', [4, 3, 1, 1]],
      ['wD', [4, 3, 1, 1]],
      ['wE', [4, 3, 1, 1]],
      ['wM', [5, 6]],
      ['wG', [6, 5]],
    ],
  },
);
const widthsPlan: Override[] = [
  ['convB', 'int16'],
  ['convC', 'a16w8'],
  ['convD', 'fp32'],
  ['convE', 'fp16'],
  ['matmul', 'int16'],
  ['gemm', 'a16w8'],
];

describe('ort-overrides', () => {
  const exp = ortExport(widths, resolvePlan(widths, generic, widthsPlan), new Set());
  const overrides = new Map(exp.quantizeStatic.extra_options.TensorQuantOverrides);

  const tensors: [string, string, OrtTensorOverride[] | undefined][] = [
    [
      'a graph input read at 8 and 16 bits: the widest, converted for the 8-bit reader',
      'x',
      [{ quant_type: 'QInt16', symmetric: true, convert: { quant_type: 'QInt8', recv_nodes: ['convA'] } }],
    ],
    [
      'written at 8 bits, read at 16: converted for the reader',
      'a',
      [{ quant_type: 'QInt8', convert: { quant_type: 'QInt16', symmetric: true, recv_nodes: ['convB'] } }],
    ],
    ['written by an int16 node', 'b', [{ quant_type: 'QInt16', symmetric: true }]],
    ['written by an a16w8 node', 'c', [{ quant_type: 'QInt16', symmetric: true }]],
    ["an excluded node's output", 'd', undefined],
    ['int16 weight: 16 bits, per-channel on axis 0', 'wB', [{ quant_type: 'QInt16', symmetric: true, axis: 0 }]],
    ['a16w8 weight: 8 bits', 'wC', [{ quant_type: 'QInt8', symmetric: true, axis: 0 }]],
    ['int8 weight, per-channel: the axis is stated', 'wA', [{ quant_type: 'QInt8', symmetric: true, axis: 0 }]],
    ["excluded node's weight", 'wD', undefined],
    ['a bias is never an override', 'bB', undefined],
    ['MatMul weight [K,N]: axis 1 (the last)', 'wM', [{ quant_type: 'QInt16', symmetric: true, axis: 1 }]],
    ['Gemm with transB=1: axis 0', 'wG', [{ quant_type: 'QInt8', symmetric: true, axis: 0 }]],
  ];
  it.each(tensors)('%s (%s)', (_, name, expected) => {
    expect(overrides.get(name)).toEqual(expected);
  });

  it("excludes the quantized ops planned in float and sets the profile's globals", () => {
    const q = exp.quantizeStatic;
    expect(q.nodes_to_exclude).toEqual(['convD', 'convE']);
    expect(q).toMatchObject({
      activation_type: 'QInt8',
      weight_type: 'QInt8',
      per_channel: true,
      op_types_to_quantize: ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'],
    });
    expect(q.extra_options).toMatchObject({
      ActivationSymmetric: false,
      WeightSymmetric: true,
      QuantizeBias: true,
      UseQDQContribOps: true,
    });
  });

  it('says what it cannot express', () => {
    expect(exp.notes.join('\n')).toMatch(
      /no per-node FP16, so 1 node\(s\) planned fp16 \('convE'\) are in nodes_to_exclude and run in FP32/,
    );
    expect(exp.notes.join('\n')).toMatch(/read at 8 and at 16 bits \('x'\)/);
    expect(exp.notes.join('\n')).toMatch(/opset 17, below 21, so UseQDQContribOps is on/);
    expect(exp.mapping).toEqual([
      { precision: 'int8', nodes: 1, target: 'QInt8 activations, QInt8 per-channel weights (the defaults)' },
      { precision: 'a16w8', nodes: 2, target: 'QInt16 activations, QInt8 per-channel weights' },
      { precision: 'int16', nodes: 2, target: 'QInt16 activations, QInt16 per-channel weights' },
      {
        precision: 'fp16',
        nodes: 1,
        target: 'FP32, not quantized (1 quantized op(s) in nodes_to_exclude)',
        why: 'quantize_static has no per-node FP16',
      },
      { precision: 'fp32', nodes: 1, target: 'FP32, not quantized (1 quantized op(s) in nodes_to_exclude)' },
    ]);
  });

  it('per-tensor weights: only the ones off the int8 default, no axis', () => {
    const q = ortExport(widths, resolvePlan(widths, fp16Profile, widthsPlan), new Set()).quantizeStatic;
    const o = new Map(q.extra_options.TensorQuantOverrides);
    expect(q.per_channel).toBe(false);
    expect(o.get('wA')).toBeUndefined();
    expect(o.get('wB')).toEqual([{ quant_type: 'QInt16', symmetric: true }]);
    expect(o.get('wC')).toEqual([{ quant_type: 'QInt8', symmetric: true }]);
    expect(q.extra_options.QuantizeBias).toBe(false);
  });

  it('an all-int8 plan needs no activation override and no contrib ops', () => {
    const q = ortExport(widths, resolvePlan(widths, fp16Profile, []), new Set()).quantizeStatic;
    expect(q.extra_options.TensorQuantOverrides).toEqual([]);
    expect(q.extra_options.UseQDQContribOps).toBe(false);
    expect(q.nodes_to_exclude).toEqual([]);
  });

  it('names the file lacks are left out, and said so', () => {
    const e = ortExport(widths, resolvePlan(widths, generic, widthsPlan), new Set(['convD', 'convB']));
    const o = new Map(e.quantizeStatic.extra_options.TensorQuantOverrides);
    expect(e.quantizeStatic.nodes_to_exclude).toEqual(['convE']);
    expect(o.get('a')).toEqual([{ quant_type: 'QInt8' }]);
    expect(e.notes.join('\n')).toMatch(/1 node\(s\) to exclude have no name in the model file \('convD'/);
    expect(e.notes.join('\n')).toMatch(/recv_nodes cannot list them .*'convB'|'convB'.*recv_nodes cannot list them/);
  });
});

describe('tensorrt', () => {
  const plan = resolvePlan(widths, generic, widthsPlan);
  const exp = tensorRtExport(widths, plan, new Set());

  it('maps int16 and a16w8 to fp16 and lists every decision', () => {
    expect(exp.layers.map((l) => [l.name, l.precision, l.planned])).toEqual([
      ['convB', 'fp16', 'int16'],
      ['convC', 'fp16', 'a16w8'],
      ['convD', 'fp32', 'fp32'],
      ['convE', 'fp16', 'fp16'],
      ['matmul', 'fp16', 'int16'],
      ['gemm', 'fp16', 'a16w8'],
    ]);
    expect(exp).toMatchObject({ int8: true, fp16: true });
    expect(layerPrecisionsSpec(exp)).toBe('convB:fp16,convC:fp16,convD:fp32,convE:fp16,matmul:fp16,gemm:fp16');
    expect(layerOutputTypesSpec(exp)).toBe(layerPrecisionsSpec(exp));
    expect(exp.mapping.map((m) => [m.precision, m.target])).toEqual([
      ['int8', 'int8'],
      ['a16w8', 'fp16'],
      ['int16', 'fp16'],
      ['fp16', 'fp16'],
      ['fp32', 'fp32'],
    ]);
    expect(exp.notes[0]).toMatch(/TensorRT has no INT16 layer precision, so 4 node\(s\) planned int16 or a16w8/);
  });

  it('under --fp16, float ops the profile keeps in FP32 are pinned to fp32; without it they are left alone', () => {
    const g = smallNet();
    const promoted = tensorRtExport(g, resolvePlan(g, generic, [['conv2', 'int16']]), new Set());
    expect(promoted.layers.map((l) => `${l.name}:${l.precision}`)).toEqual([
      'relu1:fp32',
      'conv2:fp16',
      'in2:fp32',
      'relu2:fp32',
      'concat:fp32',
    ]);
    const plain = tensorRtExport(g, resolvePlan(g, generic, [['conv2', 'fp32']]), new Set());
    expect(plain).toMatchObject({ fp16: false, int8: true });
    expect(plain.layers.map((l) => `${l.name}:${l.precision}`)).toEqual(['conv2:fp32']);
  });

  it('leaves out names trtexec cannot carry or the file lacks, and says so', () => {
    const g = graphOf(
      [
        ['a,b', 'Conv', ['x', 'w'], ['y1']],
        ['c', 'Conv', ['y1', 'w2'], ['y']],
      ],
      {
        initializers: [
          ['w', [3, 3, 1, 1]],
          ['w2', [3, 3, 1, 1]],
        ],
      },
    );
    const e = tensorRtExport(g, resolvePlan(g, generic, [['op:Conv', 'int16']]), new Set(['c']));
    expect(e.layers).toEqual([]);
    expect(e.notes.join('\n')).toMatch(/1 node name\(s\) hold ',', ''' or a NUL/);
    expect(e.notes.join('\n')).toMatch(/1 node\(s\) have no name in the model file \('c'/);
  });

  it.each([
    ['conv_1', true],
    ['/enc/Conv:0', true],
    ['a,b', false],
    ["it's", false],
    ['a\0b', false],
    ['', false],
  ] as const)('isTrtexecName(%j) is %s', (name, ok) => {
    expect(isTrtexecName(name)).toBe(ok);
  });

  it('quotes words for the shell', () => {
    expect(shellQuote("--onnx=/m/it's.onnx")).toBe("'--onnx=/m/it'\\''s.onnx'");
  });
});

describe('rknn', () => {
  const table: [RknnPlatform, Precision, RknnDtype][] = [
    ['rk3588', 'int8', 'int8'],
    ['rk3588', 'int16', 'float16'],
    ['rk3588', 'a16w8', 'float16'],
    ['rk3588', 'fp16', 'float16'],
    ['rk3588', 'fp32', 'float16'],
    ['rv1106', 'int16', 'int16'],
    ['rv1106', 'a16w8', 'int16'],
    ['rv1106', 'fp16', 'int16'],
    ['rv1106', 'fp32', 'int16'],
    ['rk3566', 'int16', 'float16'],
    ['rv1103', 'int8', 'int8'],
  ];
  it.each(table)('%s: %s → %s', (platform, precision, dtype) => {
    expect(rknnDtype(platform, precision)).toBe(dtype);
  });

  it('names layers by their output tensors, a fused group under its precision', () => {
    const g = smallNet();
    const plan = resolvePlan(g, generic, [['conv1', 'int16']]);
    // generic-int8 fuses Conv→Relu: conv1's group stores r1 at int16 too; conv2→in2→relu2 is an int8 group.
    const e = rknnExport(g, plan, 'rv1106');
    expect(e.layers.map((l) => `${l.name}:${l.dtype}`)).toEqual(['c1:int16', 'r1:int16', 'cat:int16']);
    expect(e.notes.join('\n')).toMatch(
      /1 node\(s\) are listed because profile 'generic-int8' runs its non-quantized ops in FP32 \('concat'\)/,
    );
  });

  it('on a float16 platform an all-int8 plan with an int8-fp16 profile lists the float ops as float16', () => {
    const g = smallNet();
    const e = rknnExport(g, resolvePlan(g, fp16Profile, []), 'rk3588');
    expect(e.layers.map((l) => l.name)).toEqual(['cat']);
    expect(e.layers.every((l) => l.dtype === 'float16')).toBe(true);
  });
});
