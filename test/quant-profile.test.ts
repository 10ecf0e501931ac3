import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { loadProfile } from '../src/store/profile-file.js';
import { activationQuant, builtinProfiles, parseProfile, weightLayout, weightQuant } from '../src/quant/profile.js';
import { graphOf } from './quant-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'quant-profile-'));
const valid = {
  name: 'my-npu',
  quantizedOps: ['Conv'],
  weights: { granularity: 'per-tensor', symmetric: true },
  activations: { granularity: 'per-tensor', symmetric: true },
  bias: 'float',
  floatOps: 'fp16',
  fusion: [['Conv', 'Relu']],
};

function writeProfile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('built-in profiles', () => {
  it('lists generic-int8 and int8-fp16', () => {
    expect(builtinProfiles()).toEqual(['generic-int8', 'int8-fp16']);
  });

  it('generic-int8: per-channel symmetric INT8 weights, per-tensor INT8 activations, fp32 float ops', () => {
    const p = loadProfile('generic-int8');
    expect(p.name).toBe('generic-int8');
    expect(p.source).toBe('generic-int8');
    expect(p.quantizedOps).toEqual(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);
    expect(p.weights).toEqual({ granularity: 'per-channel', symmetric: true, int16Bits: 16 });
    expect(p.activations.granularity).toBe('per-tensor');
    expect(p.bias).toBe('int32');
    expect(p.floatOps).toBe('fp32');
    expect(p.fusion).toContainEqual(['Conv', 'InstanceNormalization', 'Relu']);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('int8-fp16: per-tensor INT8 for conv and matmul, fp16 float ops with fp16 reductions', () => {
    const p = loadProfile('int8-fp16');
    expect(p.weights.granularity).toBe('per-tensor');
    expect(p.quantizedOps).toEqual(expect.arrayContaining(['Conv', 'MatMul']));
    expect(p.floatOps).toBe('fp16');
    expect(p.reduceAccumulation).toBe('fp16');
  });

  it('an unknown name is a UserError that lists the built-ins and suggests the closest', () => {
    expect(() => loadProfile('generic-int9')).toThrow(
      /Unknown profile 'generic-int9' \(did you mean 'generic-int8'\?\); the built-in profiles are generic-int8, int8-fp16/,
    );
  });
});

describe('profile files', () => {
  it('loads a valid file, recording its absolute path and filling defaults', () => {
    const file = writeProfile('npu.json', { ...valid, name: undefined });
    const p = loadProfile(file);
    expect(p.name).toBe('npu');
    expect(p.source).toBe(path.resolve(file));
    expect(p.description).toBe('');
    expect(p.weights.int16Bits).toBe(16);
    expect(p.activations.int16Symmetric).toBe(true);
    expect(p.reduceAccumulation).toBe('fp16');
    expect(p.fusion).toEqual([['Conv', 'Relu']]);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'weights.granularity',
      { ...valid, weights: { granularity: 'per-row', symmetric: true } },
      /field 'weights\.granularity' must be 'per-channel' or 'per-tensor', not 'per-row'\./,
    ],
    [
      'weights.symmetric missing',
      { ...valid, weights: { granularity: 'per-tensor' } },
      /field 'weights\.symmetric' is missing; it must be true or false/,
    ],
    [
      'weights.int16Bits',
      { ...valid, weights: { granularity: 'per-tensor', symmetric: true, int16Bits: 12 } },
      /field 'weights\.int16Bits' must be 16 or 8, not 12/,
    ],
    [
      'activations granularity',
      { ...valid, activations: { granularity: 'per-channel', symmetric: true } },
      /field 'activations\.granularity' must be 'per-tensor'/,
    ],
    ['bias', { ...valid, bias: 'int8' }, /field 'bias' must be 'int32' or 'float', not 'int8'/],
    ['floatOps', { ...valid, floatOps: 'bf16' }, /field 'floatOps' must be 'fp32' or 'fp16'/],
    ['misspelt field', { ...valid, weigths: {} }, /field 'weigths' is not a profile field \(did you mean 'weights'\?\)/],
    [
      'misspelt nested field',
      { ...valid, weights: { granularity: 'per-tensor', symetric: true } },
      /field 'weights\.symetric' is not a profile field/,
    ],
    ['quantizedOps missing', { ...valid, quantizedOps: undefined }, /field 'quantizedOps' is missing/],
    ['quantizedOps element', { ...valid, quantizedOps: ['Conv', 3] }, /field 'quantizedOps\[1\]' must be an ONNX op type/],
    ['short fusion chain', { ...valid, fusion: [['Conv', 'Relu'], ['Conv']] }, /field 'fusion\[1\]' must list at least 2 op types/],
    ['fusion element', { ...valid, fusion: [['Conv', '']] }, /field 'fusion\[0\]\[1\]' must be an ONNX op type/],
    ['root not an object', [1, 2], /field '\(root\)' must be an object, not an array/],
  ];
  it.each(bad)('rejects a bad %s with the file and field named', (_, content, message) => {
    const file = writeProfile('bad.json', content);
    let error: unknown;
    try {
      loadProfile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^Profile '.*bad\.json': /);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects invalid JSON and a missing file', () => {
    expect(() => loadProfile(writeProfile('broken.json', '{"name":'))).toThrow(/Profile '.*broken\.json' is not valid JSON/);
    expect(() => loadProfile(path.join(dir, 'absent.json'))).toThrow(/Cannot read profile '.*absent\.json'/);
  });

  it('accepts $comment keys', () => {
    expect(parseProfile({ ...valid, $comment: 'notes' }, 'x.json', 'x').name).toBe('my-npu');
  });
});

describe('what a quantized op reads', () => {
  const g = graphOf(
    [
      ['c', 'Conv', ['x', 'w', 'b'], ['c_out']],
      ['t', 'ConvTranspose', ['c_out', 'wt'], ['t_out']],
      ['g', 'Gemm', ['f', 'wg', 'bg'], ['g_out'], { transB: { kind: 'int', value: 1 } }],
      ['m', 'MatMul', ['g_out', 'wm'], ['y']],
      ['f', 'Flatten', ['t_out'], ['f']],
    ],
    {
      initializers: [
        ['w', [4, 3, 3, 3]],
        ['b', [4]],
        ['wt', [4, 2, 3, 3]],
        ['wg', [5, 8]],
        ['bg', [5]],
        ['wm', [5, 6]],
      ],
    },
  );
  const node = (name: string) => g.nodes.find((n) => n.name === name)!;
  it.each([
    ['c', undefined, { weight: 1, bias: 2, axis: 0 }],
    ['t', undefined, { weight: 1, bias: 2, axis: 1 }],
    ['g', undefined, { weight: 1, bias: 2, axis: 0 }],
    ['m', 2, { weight: 1, bias: null, axis: 1 }],
    ['f', undefined, null],
  ] as const)('%s', (name, rank, expected) => {
    expect(weightLayout(node(name), rank)).toEqual(expected);
  });

  it('int16 nodes take the profile int16 policy', () => {
    const p = loadProfile('generic-int8');
    expect(activationQuant(p, 'int8')).toEqual({ bits: 8, symmetric: false });
    expect(activationQuant(p, 'int16')).toEqual({ bits: 16, symmetric: true });
    expect(weightQuant(p, 'int16')).toEqual({ bits: 16, symmetric: true, granularity: 'per-channel' });
  });
});
