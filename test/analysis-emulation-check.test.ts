import { describe, expect, it } from 'vitest';
import { deployedVerdict, emulationVerdict, stepDifference, stepOf } from '../src/analysis/emulation-check.js';
import { makeTensor } from '../src/core/tensor.js';

const t = (values: number[]) => makeTensor('float32', [values.length], Float32Array.from(values));

describe('stepDifference', () => {
  it.each<[string, number[], number[], number, { maxSteps: number; over: number; nonFinite: number; verdict: string }]>([
    ['identical', [1, 2, 3], [1, 2, 3], 0.5, { maxSteps: 0, over: 0, nonFinite: 0, verdict: 'identical' }],
    ['one code flipped', [1, 2, 3], [1, 2.5, 3], 0.5, { maxSteps: 1, over: 0, nonFinite: 0, verdict: 'within' }],
    ['two codes', [1, 2, 3], [1, 3, 3], 0.5, { maxSteps: 2, over: 1, nonFinite: 0, verdict: 'mismatch' }],
    ['a saturated bias: a constant offset', [0, 0, 0], [4, 4, 4], 0.5, { maxSteps: 8, over: 3, nonFinite: 0, verdict: 'mismatch' }],
    ['NaN on one side', [1, Number.NaN], [1, 2], 1, { maxSteps: 0, over: 0, nonFinite: 1, verdict: 'mismatch' }],
    [
      'the same NaN and Inf on both',
      [Number.NaN, Infinity],
      [Number.NaN, Infinity],
      1,
      { maxSteps: 0, over: 0, nonFinite: 0, verdict: 'identical' },
    ],
    ['Inf against -Inf', [Infinity], [-Infinity], 1, { maxSteps: 0, over: 0, nonFinite: 1, verdict: 'mismatch' }],
    ['a zero step and a difference', [1], [2], 0, { maxSteps: Infinity, over: 1, nonFinite: 0, verdict: 'mismatch' }],
  ])('%s', (_name, a, b, step, want) => {
    const d = stepDifference(t(a), t(b), step);
    expect(d.maxSteps).toBe(want.maxSteps);
    expect(d.overOneStep).toBe(want.over);
    expect(d.nonFiniteMismatch).toBe(want.nonFinite);
    expect(emulationVerdict(d, 1)).toBe(want.verdict);
  });

  it('counts a one-step flip measured with float error as one step', () => {
    const step = 2.4e-5;
    const d = stepDifference(t([1000 * step]), t([1000 * step + step * (1 + 2e-3)]), step);
    expect(emulationVerdict(d, 1)).toBe('within');
  });

  it('gives the RMS in steps', () => {
    expect(stepDifference(t([0, 0, 0, 0]), t([1, 1, 1, 1]), 0.5).rmsSteps).toBe(2);
  });
});

describe('stepOf', () => {
  it.each<[string, Parameters<typeof stepOf>, number]>([
    ['the scale of a quantized tensor', ['scale', 0.25, 100, 8], 0.25],
    ['the fp16 spacing at the peak', ['fp16', null, 3, 8], 2 ** -9],
    ['an int8 grid over the peak of an fp32 tensor', ['peak', null, 127, 8], 127 / 128],
    ['an int16 grid', ['peak', null, 1, 16], 1 / 32768],
    ['no finite peak', ['peak', null, 0, 8], 0],
  ])('%s', (_name, args, want) => expect(stepOf(...args)).toBeCloseTo(want, 12));
});

describe('deployedVerdict', () => {
  const d = stepDifference(t([0, 0]), t([5, 5]), 1);
  it.each<[string, number, number, string]>([
    ['SNRs against float agree: flips amplified through depth', 30.68, 30.66, 'within'],
    ['a saturated bias: 95 dB literal, 16 dB optimized', 95.4, 16.0, 'mismatch'],
    ['both exact', Infinity, Infinity, 'within'],
  ])('%s', (_name, literal, optimized, want) => expect(deployedVerdict('mismatch', d, literal, optimized)).toBe(want));

  it('never passes a NaN on one side', () => {
    const nan = stepDifference(t([1]), t([Number.NaN]), 1);
    expect(deployedVerdict('mismatch', nan, 40, 40)).toBe('mismatch');
  });
});
