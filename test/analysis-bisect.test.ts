import { describe, expect, it } from 'vitest';
import {
  BisectSearch,
  bisectCandidates,
  bisectRunBudget,
  type BisectCandidate,
  type BisectOutcome,
  type BisectProbe,
} from '../src/analysis/bisect.js';
import { graphOf, smallNet } from './quant-fixtures.js';

const passes = (cosine: number): boolean => cosine >= 0.99;

/** A chain t0 → t1 → … → t(n−1); t0 reads only identical tensors. */
function chain(n: number): BisectCandidate[] {
  return Array.from({ length: n }, (_, i) => ({ tensor: `t${i}`, inputs: i === 0 ? [] : [`t${i - 1}`] }));
}

/**
 * Drives a search with a fake backend: `value(tensor, probe)` is the metric a run with that
 * probe's taps would give. Returns the outcome and the quant runs (the run with no taps counts).
 */
function drive(
  candidates: BisectCandidate[],
  value: (tensor: string, probe: BisectProbe | null) => number,
  known?: Map<string, number>,
  maxProbes?: number,
): { outcome: BisectOutcome<number>; runs: number } {
  const output = candidates[candidates.length - 1].tensor;
  const search = new BisectSearch<number>({ candidates, outputResult: value(output, null), passes, known, maxProbes });
  let runs = 1;
  for (;;) {
    const step = search.next();
    if (step.done) return { outcome: step.outcome, runs };
    runs += 1;
    search.report(new Map(step.probe.taps.map((t) => [t, value(t, step.probe)])));
  }
}

const table =
  (values: Record<string, number>) =>
  (t: string): number => {
    if (!(t in values)) throw new Error(`no value for ${t}`);
    return values[t];
  };

describe('BisectSearch on monotone chains', () => {
  it.each([
    { name: 'fails from the middle', values: [1, 1, 1, 1, 1, 0.5, 0.4, 0.3], culprit: 't5', runs: 5 },
    { name: 'only the output fails', values: [1, 1, 1, 1, 1, 1, 1, 0.3], culprit: 't7', runs: 5 },
    { name: 'the first fails: its inputs cannot differ, no certificate run', values: [0.5, 0.5, 0.5, 0.5], culprit: 't0', runs: 3 },
    { name: 'a single candidate, the output', values: [0.2], culprit: 't0', runs: 1 },
    { name: 'two candidates', values: [1, 0.2], culprit: 't1', runs: 3 },
  ])('$name', ({ values, culprit, runs }) => {
    const cands = chain(values.length);
    const { outcome, runs: used } = drive(cands, (t) => values[Number(t.slice(1))]);
    expect(outcome.culprit).toBe(culprit);
    expect(outcome.monotone).toBe(true);
    expect(used).toBe(runs);
    expect(used).toBeLessThanOrEqual(bisectRunBudget(values.length));
    const c = Number(culprit.slice(1));
    expect(outcome.certificate).toBe(c === 0 ? 'inputs-identical' : 'inputs-pass');
    expect(outcome.inputs.map((i) => i.tensor)).toEqual(c === 0 ? [] : [`t${c - 1}`]);
    expect(outcome.culpritResult).toBe(values[c]);
  });

  it('finds the first failure of every monotone chain up to 40 long within ⌈log2 N⌉ + 2 runs', () => {
    for (let n = 1; n <= 40; n++) {
      for (let first = 0; first < n; first++) {
        const { outcome, runs } = drive(chain(n), (t) => (Number(t.slice(1)) >= first ? 0.5 : 1));
        expect(outcome.culprit, `n=${n} first=${first}`).toBe(`t${first}`);
        expect(runs, `n=${n} first=${first}`).toBeLessThanOrEqual(bisectRunBudget(n));
      }
    }
  });

  it('uses known results instead of probing them', () => {
    const values = [1, 1, 1, 1, 1, 0.5, 0.4, 0.3];
    const known = new Map([
      ['t4', 1],
      ['t6', 0.4],
    ]);
    const { outcome, runs } = drive(chain(8), (t) => values[Number(t.slice(1))], known);
    expect(outcome.culprit).toBe('t5');
    // t4 passes and t6 fails are known, so only t5 is probed, then the certificate.
    expect(outcome.probes.map((p) => [p.kind, p.taps])).toEqual([
      ['search', ['t5']],
      ['certificate', ['t4', 't5']],
    ]);
    expect(runs).toBe(3);
  });
});

/** The non-monotone fixture's shape: p's error is masked by h and comes back at skip. */
const nonMonotone: BisectCandidate[] = [
  { tensor: 'p', inputs: [] },
  { tensor: 'h', inputs: ['p'] },
  { tensor: 'c1', inputs: ['h'] },
  { tensor: 'r1', inputs: ['c1'] },
  { tensor: 'c2', inputs: ['r1'] },
  { tensor: 'r2', inputs: ['c2'] },
  { tensor: 'skip', inputs: ['r2', 'p'] },
  { tensor: 'y', inputs: ['skip'] },
];

describe('BisectSearch when the error is not monotone', () => {
  it('continues among the failing input’s ancestors and says monotone: false', () => {
    const value = table({ p: 0.64, h: 0.99998, c1: 0.99995, r1: 0.99997, c2: 0.99996, r2: 0.9996, skip: 0.65, y: -0.07 });
    const { outcome, runs } = drive(nonMonotone, value);
    expect(outcome.culprit).toBe('p');
    expect(outcome.monotone).toBe(false);
    expect(outcome.certificate).toBe('inputs-identical');
    // The search lands on skip (r1, r2 pass), whose certificate shows p failing; p reads nothing that can differ.
    expect(outcome.probes.map((p) => p.taps)).toEqual([['r1'], ['r2'], ['skip'], ['r2', 'p', 'skip']]);
    expect(runs).toBe(5);
  });

  it('searches again inside the failing input’s ancestry, with a second certificate', () => {
    // a → b → c → d ; e reads d and b; the error starts at c, is masked at d, comes back at e.
    const cands: BisectCandidate[] = [
      { tensor: 'a', inputs: [] },
      { tensor: 'b', inputs: ['a'] },
      { tensor: 'c', inputs: ['b'] },
      { tensor: 'd', inputs: ['c'] },
      { tensor: 'm', inputs: ['d'] },
      { tensor: 'e', inputs: ['m', 'c'] },
      { tensor: 'y', inputs: ['e'] },
    ];
    const value = table({ a: 1, b: 1, c: 0.5, d: 1, m: 1, e: 0.5, y: 0.5 });
    const { outcome } = drive(cands, value);
    expect(outcome.culprit).toBe('c');
    expect(outcome.monotone).toBe(false);
    expect(outcome.certificate).toBe('inputs-pass');
    expect(outcome.inputs).toEqual([{ tensor: 'b', result: 1, pass: true }]);
  });

  it('names the culprit but says so when it passes once its inputs are tapped too', () => {
    const value = (t: string, probe: BisectProbe | null): number =>
      t === 't2' && probe?.kind === 'certificate' ? 0.995 : [1, 1, 0.5, 0.5][Number(t.slice(1))];
    const { outcome } = drive(chain(4), value);
    expect(outcome.culprit).toBe('t2');
    expect(outcome.certificate).toBe('culprit-passed');
  });
});

describe('BisectSearch keeps its run budget', () => {
  it('stops a non-monotone search at ⌈log2 N⌉ + 2 runs, names a failing tensor and lists what stays uncertain', () => {
    // t1 fails and every later tensor also reads it, but the error is masked until the output:
    // the certificate of the output finds t1 failing, and a second search would be needed.
    const values = [1, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5];
    const cands: BisectCandidate[] = values.map((_, i) => ({
      tensor: `t${i}`,
      inputs: i === 0 ? [] : i === 1 ? ['t0'] : [`t${i - 1}`, 't1'],
    }));
    const free = drive(cands, (t) => values[Number(t.slice(1))]);
    const budget = bisectRunBudget(values.length);
    expect(free.runs).toBeGreaterThan(budget);
    const kept = drive(cands, (t) => values[Number(t.slice(1))], undefined, budget - 1);
    expect(kept.runs).toBeLessThanOrEqual(budget);
    expect(kept.outcome.certificate).toBe('budget');
    expect(passes(kept.outcome.culpritResult)).toBe(false);
    expect(kept.outcome.monotone).toBe(false);
    expect(kept.outcome.culprit).toBe('t1');
    expect(kept.outcome.uncertain).toEqual(['t0']);
    expect(free.outcome.culprit).toBe('t1');
  });

  it('holds on random graphs and random pass/fail patterns; a certified culprit fails with passing inputs', () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 400; trial++) {
      const n = 2 + Math.floor(random() * 30);
      const cands: BisectCandidate[] = Array.from({ length: n }, (_, i) => ({
        tensor: `t${i}`,
        inputs: i === 0 ? [] : [...new Set([`t${i - 1}`, ...(random() < 0.3 ? [`t${Math.floor(random() * i)}`] : [])])],
      }));
      const values = Array.from({ length: n }, (_, i) => (i === n - 1 || random() < 0.4 ? 0.5 : 1));
      const value = (t: string) => values[Number(t.slice(1))];
      const budget = bisectRunBudget(n);
      const { outcome, runs } = drive(cands, value, undefined, budget - 1);
      expect(runs, `trial ${trial}`).toBeLessThanOrEqual(budget);
      expect(passes(value(outcome.culprit))).toBe(false);
      if (outcome.certificate === 'inputs-pass') expect(outcome.inputs.every((i) => i.pass)).toBe(true);
      if (outcome.certificate !== 'budget') expect(outcome.uncertain).toEqual([]);
      for (const u of outcome.uncertain) expect(Number(u.slice(1))).toBeLessThan(Number(outcome.culprit.slice(1)));
    }
  });
});

describe('BisectSearch with a suspect (the previous culprit of fix)', () => {
  const values = [1, 1, 1, 1, 1, 0.5, 0.4, 0.3];
  const value = (t: string): number => values[Number(t.slice(1))];
  const run = (suspect: string, v: (t: string) => number = value) => {
    const search = new BisectSearch<number>({ candidates: chain(8), outputResult: v('t7'), passes, suspect });
    let runs = 1;
    for (;;) {
      const step = search.next();
      if (step.done) return { outcome: step.outcome, runs };
      runs += 1;
      search.report(new Map(step.probe.taps.map((t) => [t, v(t)])));
    }
  };

  it('still failing with passing inputs: the culprit again after one run', () => {
    const { outcome, runs } = run('t5');
    expect(outcome).toMatchObject({ culprit: 't5', certificate: 'inputs-pass', monotone: true });
    expect(runs).toBe(2);
  });

  it('cleared: the search goes on after it', () => {
    const later = (t: string): number => [1, 1, 1, 1, 1, 1, 0.4, 0.3][Number(t.slice(1))];
    const { outcome } = run('t5', later);
    expect(outcome.culprit).toBe('t6');
    expect(outcome.probes[0]).toMatchObject({ kind: 'certificate', taps: ['t4', 't5'] });
    // t5 passing is known, so the search starts after it: t6 is probed, then certified.
    expect(outcome.probes.map((p) => p.taps)).toEqual([['t4', 't5'], ['t6'], ['t5', 't6']]);
  });

  it('an input fails: the search moves earlier without calling the error non-monotone', () => {
    const { outcome } = run('t7');
    expect(outcome.culprit).toBe('t5');
    expect(outcome.monotone).toBe(true);
  });
});

describe('BisectSearch protocol', () => {
  it('refuses a report with no probe pending or lacking a tapped tensor', () => {
    const done = new BisectSearch<number>({ candidates: chain(1), outputResult: 0, passes });
    expect(done.next().done).toBe(true);
    expect(() => done.report(new Map())).toThrow(/no probe pending/);
    const s = new BisectSearch<number>({ candidates: chain(4), outputResult: 0, passes });
    expect(() => s.report(new Map([['nope', 1]]))).toThrow(/lacks tensor/);
    expect(() => new BisectSearch<number>({ candidates: [], outputResult: 0, passes })).toThrow();
  });

  it.each([
    [1, 2],
    [2, 3],
    [3, 4],
    [4, 4],
    [5, 5],
    [8, 5],
    [9, 6],
    [59, 8],
  ])('budget for %i candidates is %i runs', (n, want) => {
    expect(bisectRunBudget(n)).toBe(want);
  });
});

describe('bisectCandidates', () => {
  it('keeps the float tensors that can differ, in order, with their candidate inputs', () => {
    const g = smallNet();
    const cands = bisectCandidates(g, 'y', { isFloat: () => true, alters: (n) => n.name === 'conv2' });
    // c1 and r1 come from fp32 ops on the input: identical by construction.
    expect(cands).toEqual([
      { tensor: 'c2', inputs: [] },
      { tensor: 'n2', inputs: ['c2'] },
      { tensor: 'r2', inputs: ['n2'] },
      { tensor: 'cat', inputs: ['r2'] },
      { tensor: 'y', inputs: ['cat'] },
    ]);
  });

  it('leaves out integer tensors and tensors the output does not depend on', () => {
    const g = graphOf(
      [
        ['conv', 'Conv', ['x', 'w'], ['c']],
        ['shape', 'Shape', ['c'], ['s']],
        ['side', 'Relu', ['c'], ['unused']],
        ['reshape', 'Reshape', ['c', 's'], ['y']],
      ],
      { initializers: [['w', [3, 3, 1, 1]]], outputs: ['y', 'unused'] },
    );
    const cands = bisectCandidates(g, 'y', { isFloat: (t) => t !== 's', alters: (n) => n.opType === 'Conv' });
    expect(cands.map((c) => c.tensor)).toEqual(['c', 'y']);
    expect(cands[1].inputs).toEqual(['c']);
  });
});

describe('BisectSearch budget with a suspect', () => {
  it('a cleared suspect still leaves room for a whole monotone search and its certificate (budget + 1 probe)', () => {
    const values = [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5];
    const cands = chain(values.length);
    const budget = bisectRunBudget(values.length);
    const search = new BisectSearch<number>({
      candidates: cands,
      outputResult: values[7],
      passes,
      suspect: 't1',
      maxProbes: budget - 1 + 1,
    });
    for (;;) {
      const step = search.next();
      if (step.done) {
        expect(step.outcome.culprit).toBe('t3');
        expect(step.outcome.certificate).toBe('inputs-pass');
        break;
      }
      search.report(new Map(step.probe.taps.map((t) => [t, values[Number(t.slice(1))]])));
    }
  });
});
