import { describe, expect, it } from 'vitest';
import { firstFailing, rowPasses, worstSource, type ComparisonRow } from '../src/analysis/comparison.js';
import { computeMetrics, type Metrics } from '../src/analysis/metrics.js';
import { makeTensor } from '../src/core/tensor.js';

const f32 = (values: number[]) => makeTensor('float32', [values.length], Float32Array.from(values));
const metricsOf = (x: number[], y: number[]): Metrics => computeMetrics(f32(x), f32(y));

const exact = metricsOf([1, 2, 3, 4], [1, 2, 3, 4]);
const off = metricsOf([1, 2, 3, 4], [1, 2, 3, 5]); // cosine 0.99399, mse 0.25
const bad = metricsOf([1, 2, 3, 4], [4, 3, 2, 1]); // cosine 20/30
const nan = metricsOf([1, 2, 3, 4], [1, 2, 3, Number.NaN]);

function row(tensor: string, index: number, pass: boolean, extra: Partial<ComparisonRow> = {}): ComparisonRow {
  return { tensor, node: `${tensor}_node`, opType: 'Conv', index, shape: [4], dtype: 'float32', metrics: off, pass, ...extra };
}

describe('rowPasses', () => {
  it.each([
    { name: 'exact, cosine', m: exact, metric: 'cosine', threshold: 0.99, want: true },
    { name: 'off, cosine 0.99', m: off, metric: 'cosine', threshold: 0.99, want: true },
    { name: 'off, cosine 0.999', m: off, metric: 'cosine', threshold: 0.999, want: false },
    { name: 'off, mse 0.25 (lower is better, inclusive)', m: off, metric: 'mse', threshold: 0.25, want: true },
    { name: 'off, mse 0.1', m: off, metric: 'mse', threshold: 0.1, want: false },
    { name: 'bad, snr', m: bad, metric: 'snrDb', threshold: 10, want: false },
    { name: 'NaN introduced fails whatever the metric says', m: nan, metric: 'cosine', threshold: 0.5, want: false },
    { name: 'no metrics', m: null, metric: 'cosine', threshold: 0, want: false },
  ] as const)('$name', ({ m, metric, threshold, want }) => {
    expect(rowPasses(m, metric, threshold)).toBe(want);
  });
});

describe('firstFailing and worstSource', () => {
  it.each([
    { name: 'none fail', rows: [row('a', 0, true), row('b', 1, true)], want: null },
    { name: 'earliest by index, not list order', rows: [row('c', 5, false), row('a', 0, true), row('b', 2, false)], want: 'b' },
    { name: 'empty', rows: [], want: null },
    {
      name: 'a row that was not compared is never first',
      rows: [row('gone', 0, false, { metrics: null, error: 'missing' }), row('b', 3, false)],
      want: 'b',
    },
    { name: 'nothing compared', rows: [row('gone', 0, false, { metrics: null, error: 'missing' })], want: null },
  ])('firstFailing: $name', ({ rows, want }) => {
    expect(firstFailing(rows)).toBe(want);
  });

  it('worstSource picks the source with the worst own metric', () => {
    const rows = [
      row('a', 0, false, { own: off, verdict: 'source' }),
      row('b', 1, false, { own: bad, verdict: 'source' }),
      row('c', 2, false, { own: nan, verdict: 'amplifier' }),
      row('d', 3, true, { own: null, verdict: 'source' }),
    ];
    expect(worstSource(rows, 'cosine')).toBe('b');
    expect(worstSource(rows, 'mse')).toBe('b');
    expect(worstSource(rows.slice(2), 'cosine')).toBeNull();
  });

  it('worstSource ranks a source that introduces Inf above any finite error', () => {
    const inf = metricsOf([1, 2, 3, 4], [1, 2, 3, Number.POSITIVE_INFINITY]);
    const rows = [row('a', 0, false, { own: bad, verdict: 'source' }), row('b', 1, false, { own: inf, verdict: 'source' })];
    expect(worstSource(rows, 'cosine')).toBe('b');
    expect(worstSource(rows, 'snrDb')).toBe('b');
  });
});
