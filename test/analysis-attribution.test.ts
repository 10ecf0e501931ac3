import { describe, expect, it } from 'vitest';
import {
  AMPLIFICATION_DB,
  attributeRows,
  errorPower,
  exactMetrics,
  verdictOf,
  type AttributionOptions,
} from '../src/analysis/attribution.js';
import type { ComparisonRow } from '../src/analysis/comparison.js';
import { computeMetrics, type Metrics } from '../src/analysis/metrics.js';
import { makeTensor } from '../src/core/tensor.js';

const f32 = (values: number[], dims = [values.length]) => makeTensor('float32', dims, Float32Array.from(values));
const m = (x: number[], y: number[]): Metrics => computeMetrics(f32(x), f32(y));

// x = [3, 4]: Σx² = 25. The error power Σd²/Σx² of each pair is given beside it.
const X = [3, 4];
const exact = m(X, X); //                 0
const tiny = m(X, [3, 4.05]); //           1e-4     cosine 0.99998
const small = m(X, [3, 4.5]); //           1e-2     cosine 0.9991
const large = m(X, [3, 2.5]); //           9e-2     cosine 0.9827 (fails 0.99)
const huge = m(X, [3, -1]); //             1        cosine 0.3162
const withNan = m(X, [3, Number.NaN]);

describe('errorPower', () => {
  it.each([
    ['identical', exact, 0],
    ['0.05 off on 4', tiny, 1e-4],
    ['0.5 off on 4', small, 1e-2],
    ['1.5 off on 4', large, 9e-2],
    ['5 off on 4', huge, 1],
  ] as const)('%s', (_name, metrics, want) => {
    expect(errorPower(metrics)).toBeCloseTo(want, 8);
  });

  it('is infinite when the test side has NaN where the reference is finite', () => {
    expect(errorPower(withNan)).toBe(Infinity);
  });

  it('is infinite when the reference is all zero and the test is not', () => {
    expect(errorPower(m([0, 0], [0, 1]))).toBe(Infinity);
  });
});

function row(tensor: string, acc: Metrics | null, own: Metrics | null | undefined, pass?: boolean): ComparisonRow {
  return {
    tensor,
    node: `${tensor}_node`,
    opType: 'Conv',
    index: 0,
    shape: [2],
    dtype: 'float32',
    metrics: acc,
    own,
    pass: pass ?? (acc !== null && acc.cosine >= 0.99 && acc.nonFiniteIntroduced === 0),
  };
}

/** a (graph input) → p → t; `t` also reads q when given. */
function options(inputs: Record<string, string[]>): AttributionOptions {
  return { metric: 'cosine', threshold: 0.99, inputsOf: (t) => inputs[t], isGraphInput: (t) => t === 'a' };
}

describe('verdictOf (cosine >= 0.99, amplification 10 dB)', () => {
  const acc = (entries: [string, Metrics | null][]) => new Map(entries);
  it.each([
    { name: 'own fails: source, whatever the rest', own: large, accT: large, inputs: { t: ['p'] }, known: [['p', exact]], want: 'source' },
    {
      name: 'own fails with NaN introduced: source',
      own: withNan,
      accT: withNan,
      inputs: { t: ['p'] },
      known: [['p', exact]],
      want: 'source',
    },
    { name: 'accumulated passes: follows', own: exact, accT: small, inputs: { t: ['p'] }, known: [['p', tiny]], want: 'follows' },
    {
      name: '9e-2 vs own 1e-4 and input 1e-4: amplifier',
      own: tiny,
      accT: large,
      inputs: { t: ['p'] },
      known: [['p', tiny]],
      want: 'amplifier',
    },
    {
      name: '9e-2 vs input 1e-2: less than 10x, follows',
      own: exact,
      accT: large,
      inputs: { t: ['p'] },
      known: [['p', small]],
      want: 'follows',
    },
    {
      name: 'the worst of two inputs counts',
      own: exact,
      accT: large,
      inputs: { t: ['p', 'q'] },
      known: [
        ['p', tiny],
        ['q', small],
      ],
      want: 'follows',
    },
    { name: 'a graph input without a row is exact', own: exact, accT: large, inputs: { t: ['a'] }, known: [], want: 'amplifier' },
    { name: 'an input without a row is unknown: follows', own: exact, accT: large, inputs: { t: ['p'] }, known: [], want: 'follows' },
    { name: 'no model (inputs unknown): follows', own: exact, accT: large, inputs: {}, known: [], want: 'follows' },
    {
      name: 'NaN introduced downstream of clean inputs: amplifier',
      own: exact,
      accT: withNan,
      inputs: { t: ['p'] },
      known: [['p', tiny]],
      want: 'amplifier',
    },
  ] as const)('$name', ({ own, accT, inputs, known, want }) => {
    const r = row('t', accT, own);
    expect(
      verdictOf(r, acc([...known.map(([k, v]) => [k, v] as [string, Metrics]), ['t', accT]]), options(inputs as Record<string, string[]>)),
    ).toBe(want);
  });

  it('gives no verdict without own metrics or without accumulated metrics', () => {
    expect(verdictOf(row('t', large, undefined), new Map(), options({ t: [] }))).toBeNull();
    expect(verdictOf(row('t', large, null), new Map(), options({ t: [] }))).toBeNull();
    expect(verdictOf(row('t', null, exact), new Map(), options({ t: [] }))).toBeNull();
  });

  it('uses the documented amplification of 10 dB', () => {
    expect(AMPLIFICATION_DB).toBe(10);
  });
});

describe('attributeRows', () => {
  it('labels a planted source and the rows that carry its error along', () => {
    const rows = [
      row('p', tiny, tiny), // a clean first layer
      row('s', large, large), // the source
      row('r', large, exact), // a float op passing it on
      row('c', huge, small), // a later layer made worse by a weaker own error than its input
      row('o', huge, undefined), // no own measurement
    ];
    const inputs: Record<string, string[]> = { p: ['a'], s: ['p'], r: ['s'], c: ['r'], o: ['c'] };
    const out = attributeRows(rows, options(inputs));
    expect(out.map((r) => [r.tensor, r.verdict])).toEqual([
      ['p', 'follows'],
      ['s', 'source'],
      ['r', 'follows'],
      ['c', 'amplifier'],
      ['o', null],
    ]);
    expect(rows[0].verdict).toBeUndefined();
  });
});

describe('exactMetrics equals computeMetrics(x, x)', () => {
  const cases: [string, number[], number[]][] = [
    ['a vector', [1, -2, 3], [3]],
    ['channels', [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]],
    ['all zero', [0, 0, 0, 0], [1, 4]],
    ['zero-size', [], [1, 0, 3]],
    ['more than 1000 values (p999)', Array.from({ length: 1500 }, (_, i) => Math.sin(i)), [1, 3, 500]],
    ['NaN and Inf in the reference', [Number.NaN, 1, Infinity, 2], [1, 4]],
  ];
  it.each(cases)('%s', (_name, values, dims) => {
    const x = f32(values, dims);
    const other = f32(
      values.map((v) => v + 0.25),
      dims,
    );
    const acc = computeMetrics(x, other, { calibratedRange: { min: -1, max: 1 } });
    const want = computeMetrics(x, x, { calibratedRange: { min: -1, max: 1 } });
    const got = exactMetrics(acc);
    const { maxAbsIndex: gotIndex, ...gotRest } = got;
    const { maxAbsIndex: wantIndex, ...wantRest } = want;
    expect(gotRest).toEqual(wantRest);
    if (values.every(Number.isFinite)) expect(gotIndex).toEqual(wantIndex);
  });
});
