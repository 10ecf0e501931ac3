import { describe, expect, it } from 'vitest';
import { figure, median, ratios, type Target } from '../src/bench/figures.js';
import { readEveryValue } from '../src/bench/compare-floor.js';
import { formatValue } from '../src/bench/report.js';
import { makeTensor } from '../src/core/tensor.js';

const spec = { id: 'x', section: 's', label: 'l', unit: 'x' };
const atMost = (value: number, on?: 'median' | 'worst'): Target => ({ comparator: '<=', value, source: 't', ...(on ? { on } : {}) });

describe('bench figures', () => {
  it.each([
    [[], Number.NaN],
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median of %j is %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('takes ratios pair by pair, not as a ratio of medians', () => {
    // Medians 2 and 2 (ratio 1), but each pair is 2x or 0.5x.
    expect(ratios([1, 2, 4], [0.5, 4, 2])).toEqual([2, 0.5, 2]);
    expect(() => ratios([1], [1, 2])).toThrow(/ratio of 1 samples over 2/);
  });

  it.each([
    // samples, target, met
    [[1.1, 1.2, 1.5], atMost(1.3), true],
    [[1.1, 1.2, 1.5], atMost(1.3, 'worst'), false],
    [[1.4, 1.5], atMost(1.3), false],
    [[600, 400, 700], { comparator: '>=', value: 500, source: 't' } as Target, true],
    [[600, 400, 700], { comparator: '>=', value: 500, source: 't', on: 'worst' } as Target, false],
    [[], atMost(1), null],
  ])('%j against %j: met %s', (samples, target, met) => {
    expect(figure({ ...spec, target }, samples).met).toBe(met);
  });

  it('summarizes samples as median, min and max and keeps them', () => {
    const f = figure(spec, [3, 1, 2]);
    expect(f).toMatchObject({ median: 2, min: 1, max: 3, samples: [3, 1, 2], target: null, met: null });
  });

  it('reads every value of a tensor, whatever its type', () => {
    expect(readEveryValue(makeTensor('float32', [3], new Float32Array([1, 2, 3])))).toEqual({ bytes: 12, sum: 6 });
    expect(readEveryValue(makeTensor('int64', [2], new BigInt64Array([5n, 7n])))).toEqual({ bytes: 16, sum: 12 });
  });

  it.each([
    [1.2345, 'x', '1.23'],
    [12.345, 's', '12.35'],
    [123.4, 's', '123'],
    [99.6, 'ms', '100'],
    [8, 'runs', '8'],
    [Number.NaN, 'MB', 'NaN'],
  ])('formats %d %s as %s', (value, unit, text) => {
    expect(formatValue(value, unit)).toBe(text);
  });
});
