import { describe, expect, it } from 'vitest';
import {
  computeMetrics,
  formatMetric,
  formatNumber,
  higherIsBetter,
  meetsTarget,
  metricValue,
  METRIC_NAMES,
  parseTarget,
} from '../src/analysis/metrics.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';

const f32 = (values: number[], dims: number[] = [values.length]) => makeTensor('float32', dims, Float32Array.from(values));

describe('parseTarget', () => {
  it.each([
    { text: 'cosine>=0.999', want: { metric: 'cosine', op: '>=', value: 0.999 } },
    { text: 'psnrDb>=45', want: { metric: 'psnrDb', op: '>=', value: 45 } },
    { text: 'mse<=1e-3', want: { metric: 'mse', op: '<=', value: 0.001 } },
    { text: ' snr >= 30 ', want: { metric: 'snrDb', op: '>=', value: 30 } },
    { text: 'PSNR>=40.5', want: { metric: 'psnrDb', op: '>=', value: 40.5 } },
    { text: 'relL2<=0.05', want: { metric: 'relL2', op: '<=', value: 0.05 } },
    { text: 'worstChannelCosine>=-0.5', want: { metric: 'worstChannelCosine', op: '>=', value: -0.5 } },
  ])('reads $text', ({ text, want }) => {
    expect(parseTarget(text)).toEqual(want);
  });

  it.each([
    { text: '', message: /is not of the form/ },
    { text: 'cosine', message: /is not of the form/ },
    { text: 'cosine>0.9', message: /is not of the form/ },
    { text: 'cosine=0.9', message: /is not of the form/ },
    { text: 'cosin>=0.9', message: /no known metric 'cosin'; did you mean cosine/ },
    { text: 'cosine>=abc', message: /'abc' where a finite number belongs/ },
    { text: 'cosine>=Infinity', message: /finite number/ },
    { text: 'cosine<=0.9', message: /should use >=/ },
    { text: 'mse>=0.1', message: /should use <=/ },
    { text: 'cos\x1b[31mine>=1', message: /\\x1b/ },
  ])('rejects $text', ({ text, message }) => {
    expect(() => parseTarget(text, '--target')).toThrow(UserError);
    expect(() => parseTarget(text, '--target')).toThrow(message);
  });

  it('names the flag in the message', () => {
    expect(() => parseTarget('bogus', '--fail-under')).toThrow(/^The --fail-under 'bogus'/);
  });
});

describe('targets and metric values', () => {
  const exact = computeMetrics(f32([1, 2, 3]), f32([1, 2, 3]));
  const off = computeMetrics(f32([1, 2, 3, 4]), f32([1, 2, 3, 5]));
  const nan = computeMetrics(f32([1, 2, 3]), f32([1, Number.NaN, 3]));

  it.each([
    { m: exact, target: 'cosine>=0.999', want: true },
    { m: off, target: 'cosine>=0.999', want: false },
    { m: off, target: 'cosine>=0.99', want: true },
    { m: off, target: 'mse<=0.25', want: true },
    { m: off, target: 'mse<=0.2', want: false },
    { m: exact, target: 'snrDb>=200', want: true },
    { m: nan, target: 'cosine>=0.5', want: false },
    { m: nan, target: 'mse<=1', want: false },
  ])('meetsTarget $target', ({ m, target, want }) => {
    expect(meetsTarget(m, parseTarget(target))).toBe(want);
  });

  it('worstChannelCosine falls back to cosine without a channel axis', () => {
    expect(metricValue(off, 'worstChannelCosine')).toBe(off.cosine);
  });

  it('every metric name reads a number and has a direction', () => {
    for (const name of METRIC_NAMES) {
      expect(typeof metricValue(off, name)).toBe('number');
      expect(typeof higherIsBetter(name)).toBe('boolean');
    }
    expect(METRIC_NAMES.filter(higherIsBetter)).toEqual(['cosine', 'snrDb', 'psnrDb', 'worstChannelCosine']);
  });
});

describe('formatMetric', () => {
  it.each([
    { name: 'snrDb', value: Infinity, want: 'exact' },
    { name: 'psnrDb', value: Infinity, want: 'exact' },
    { name: 'snrDb', value: -Infinity, want: '-inf' },
    { name: 'snrDb', value: 31.4159, want: '31.42' },
    { name: 'cosine', value: 0.99912345, want: '0.999123' },
    { name: 'cosine', value: 1, want: '1.000000' },
    { name: 'relL2', value: Infinity, want: 'inf' },
    { name: 'mse', value: 0, want: '0' },
    { name: 'mse', value: 0.000123456, want: '1.23e-4' },
    { name: 'maxAbs', value: 12.3456, want: '12.35' },
    { name: 'maxAbs', value: 123456, want: '1.23e+5' },
    { name: 'mae', value: Number.NaN, want: 'NaN' },
    { name: 'worstChannelCosine', value: null, want: '-' },
  ] as const)('$name $value -> $want', ({ name, value, want }) => {
    expect(formatMetric(name, value)).toBe(want);
  });

  it('formatNumber keeps 4 significant digits', () => {
    expect(formatNumber(-0.0123456)).toBe('-0.01235');
    expect(formatNumber(12345.6)).toBe('12346');
    expect(formatNumber(0.001)).toBe('0.001');
  });
});
