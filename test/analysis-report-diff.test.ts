import { describe, expect, it } from 'vitest';
import type { ComparisonReport, ComparisonRow } from '../src/analysis/comparison.js';
import type { Metrics } from '../src/analysis/metrics.js';
import { diffReports, metricChange } from '../src/analysis/report-diff.js';

/** Metrics where only the fields a diff reads matter. */
const metrics = (snrDb: number, mse: number): Metrics => ({ snrDb, mse, cosine: 1, nonFiniteIntroduced: 0 }) as unknown as Metrics;

const row = (tensor: string, snrDb: number | null, pass: boolean, mse = 0.1): ComparisonRow => ({
  tensor,
  node: `${tensor}_node`,
  opType: 'Conv',
  index: 0,
  shape: [1],
  dtype: 'float32',
  metrics: snrDb === null ? null : metrics(snrDb, mse),
  pass,
});

const report = (rows: ComparisonRow[]): ComparisonReport => ({
  schemaVersion: 1,
  metric: 'snrDb',
  threshold: 30,
  rows,
  firstFailing: null,
  worstSource: null,
  outputs: [],
});

describe('metricChange', () => {
  it.each([
    ['snrDb', 20, 35, 15],
    ['snrDb', 35, 20, -15],
    ['mse', 0.5, 0.1, 0.4],
    ['mse', 0.1, 0.5, -0.4],
    ['snrDb', 30, 30, 0],
    ['snrDb', Infinity, Infinity, 0],
    ['snrDb', -Infinity, -Infinity, 0],
    ['snrDb', 40, Infinity, Infinity],
    ['snrDb', Infinity, 40, -Infinity],
    ['mse', Infinity, 1, Infinity],
    ['snrDb', Number.NaN, 30, null],
    ['snrDb', 30, Number.NaN, null],
    ['snrDb', null, 30, null],
    ['snrDb', 30, null, null],
  ] as const)('%s from %s to %s is %s', (metric, a, b, expected) => {
    expect(metricChange(metric, a, b)).toBe(expected);
  });
});

describe('diffReports', () => {
  const a = report([
    row('x', 20, false),
    row('y', 35, true),
    row('z', Infinity, true),
    row('n', Number.NaN, false),
    row('m', null, false),
    row('gone', 25, false),
  ]);
  const b = report([
    row('new', 50, true),
    row('y', 31, true),
    row('x', 33, true),
    row('z', Infinity, true),
    row('n', 32, true),
    row('m', null, false),
  ]);
  const d = diffReports(a, b, 'snrDb');

  it("pairs rows by tensor name in a's order, then b's own rows", () => {
    expect(d.rows.map((r) => r.tensor)).toEqual(['x', 'y', 'z', 'n', 'm', 'gone', 'new']);
    expect(d.rows.map((r) => r.in)).toEqual(['both', 'both', 'both', 'both', 'both', 'a', 'b']);
  });

  it('gives each pair both values, the change in the better direction and both verdicts', () => {
    expect(d.rows[0]).toMatchObject({ a: 20, b: 33, change: 13, passA: false, passB: true, direction: 'better' });
    expect(d.rows[1]).toMatchObject({ a: 35, b: 31, change: -4, passA: true, passB: true, direction: 'worse' });
    expect(d.rows[2]).toMatchObject({ a: Infinity, b: Infinity, change: 0, direction: 'unchanged' });
    // NaN against a value: no change can be told; the verdicts decide.
    expect(d.rows[3].a).toBeNaN();
    expect(d.rows[3]).toMatchObject({ b: 32, change: null, passA: false, passB: true, direction: 'better' });
    expect(d.rows[4]).toMatchObject({ a: null, b: null, change: null, direction: 'unchanged' });
    expect(d.rows[5]).toMatchObject({ a: 25, b: null, change: null, passA: false, passB: null });
    expect(d.rows[6]).toMatchObject({ a: null, b: 50, change: null, passA: null, passB: true });
  });

  it('counts improved, worse, unchanged and the rows of one run only', () => {
    expect(d.totals).toEqual({ improved: 2, worse: 1, unchanged: 2, onlyInA: 1, onlyInB: 1 });
    expect(d.onlyInA).toEqual(['gone']);
    expect(d.onlyInB).toEqual(['new']);
  });

  it('orients error metrics the other way: a smaller mse is better', () => {
    const e = diffReports(report([row('x', 20, false, 0.5)]), report([row('x', 20, true, 0.25)]), 'mse');
    expect(e.rows[0]).toMatchObject({ a: 0.5, b: 0.25, change: 0.25, direction: 'better' });
    expect(e.metric).toBe('mse');
  });

  it('a fall to NaN with the verdict flipping to FAIL is worse', () => {
    const e = diffReports(report([row('x', 40, true)]), report([row('x', Number.NaN, false)]), 'snrDb');
    expect(e.rows[0]).toMatchObject({ change: null, direction: 'worse' });
    expect(e.totals.worse).toBe(1);
  });
});
