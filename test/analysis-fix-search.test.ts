import { describe, expect, it } from 'vitest';
import { FixSearch, type Evaluation, type FixOutcome, type FixPurpose, type FixSearchInit } from '../src/analysis/fix-search.js';

interface R {
  readonly key: string;
}
const r = (key: string): R => ({ key });

/**
 * Drives a fix search with a fake backend: `score(set)` is the output metric with those regions
 * promoted (met at >= 0.999), `locate(set)` the next region a bisect would name.
 */
function drive(
  init: FixSearchInit<R>,
  score: (keys: string[]) => number,
  locate: (keys: string[]) => string | null = () => null,
): { outcome: FixOutcome<R>; evaluations: { keys: string[]; purpose: FixPurpose }[]; locates: number } {
  const search = new FixSearch<R>(init);
  const evaluations: { keys: string[]; purpose: FixPurpose }[] = [];
  let locates = 0;
  for (;;) {
    const step = search.next();
    if (step.kind === 'done') return { outcome: step.outcome, evaluations, locates };
    const keys = step.promoted.map((x) => x.key).sort();
    if (step.kind === 'evaluate') {
      evaluations.push({ keys, purpose: step.purpose });
      const s = score(keys);
      const e: Evaluation = { met: s >= 0.999, score: s };
      search.reportEvaluation(e);
    } else {
      locates += 1;
      const k = locate(keys);
      search.reportRegion(k === null ? null : r(k));
    }
  }
}

/** Each promoted region adds its gain to a 0.99 baseline. */
const additive =
  (gains: Record<string, number>) =>
  (keys: string[]): number =>
    0.99 + keys.reduce((s, k) => s + (gains[k] ?? 0), 0);

describe('FixSearch, bisect strategy', () => {
  it('stops at once when the baseline meets the target', () => {
    const { outcome, evaluations } = drive({ strategy: 'bisect', maxPromotions: 5 }, () => 0.9995);
    expect(outcome).toMatchObject({ met: true, promoted: [], stop: 'met' });
    expect(evaluations).toHaveLength(1);
  });

  it('promotes what bisect names until met, then prunes a promotion that turned out useless', () => {
    // a is needed, b is useless, c is needed; bisect names a, then b, then c.
    const order = ['a', 'b', 'c'];
    const { outcome, evaluations, locates } = drive(
      { strategy: 'bisect', maxPromotions: 5 },
      additive({ a: 0.005, c: 0.005 }),
      (keys) => order[keys.length] ?? null,
    );
    expect(outcome.met).toBe(true);
    expect(outcome.promoted.map((x) => x.key)).toEqual(['a', 'c']);
    expect(outcome.pruned.map((x) => x.key)).toEqual(['b']);
    expect(locates).toBe(3);
    // baseline, a, ab, abc, then prune: ab (known: fails, no run), ac (met: b dropped), c (fails).
    expect(evaluations.map((e) => e.keys.join(''))).toEqual(['', 'a', 'ab', 'abc', 'ac', 'c']);
    expect(evaluations.slice(4).every((e) => e.purpose === 'prune')).toBe(true);
    expect(outcome.final.score).toBeCloseTo(1.0, 9);
  });

  it('stops at the promotion budget without pruning', () => {
    const { outcome } = drive(
      { strategy: 'bisect', maxPromotions: 2 },
      additive({ a: 0.004, b: 0.004, c: 0.004 }),
      (k) => ['a', 'b', 'c'][k.length],
    );
    expect(outcome).toMatchObject({ met: false, stop: 'budget' });
    expect(outcome.promoted.map((x) => x.key)).toEqual(['a', 'b']);
  });

  it('stops when nothing is left to promote, or bisect names a region already promoted', () => {
    const none = drive(
      { strategy: 'bisect', maxPromotions: 5 },
      () => 0.5,
      () => null,
    );
    expect(none.outcome).toMatchObject({ met: false, stop: 'nothing-to-promote', promoted: [] });
    const again = drive(
      { strategy: 'bisect', maxPromotions: 5 },
      () => 0.5,
      () => 'a',
    );
    expect(again.outcome).toMatchObject({ met: false, stop: 'nothing-to-promote' });
    expect(again.outcome.promoted.map((x) => x.key)).toEqual(['a']);
  });

  it('a budget of 0 promotes nothing', () => {
    const { outcome, locates } = drive(
      { strategy: 'bisect', maxPromotions: 0 },
      () => 0.5,
      () => 'a',
    );
    expect(outcome).toMatchObject({ met: false, stop: 'budget' });
    expect(locates).toBe(0);
  });
});

describe('FixSearch, sensitivity strategy', () => {
  it('ranks regions by the score with only them unpromoted and promotes the worst first', () => {
    // Promoting everything: 0.99 + 0.012 = 1.002. With only b unpromoted: 0.995 (the worst).
    const gains = { a: 0.002, b: 0.007, c: 0.003 };
    const { outcome, evaluations } = drive({ strategy: 'sensitivity', maxPromotions: 3, regions: ['a', 'b', 'c'].map(r) }, additive(gains));
    expect(outcome.ranking.map((x) => x.region.key)).toEqual(['b', 'c', 'a']);
    expect(outcome.promoted.map((x) => x.key)).toEqual(['b', 'c']);
    expect(outcome.met).toBe(true);
    // baseline, 3 sensitivities, b, then bc (met; known from the sensitivity of a, no run), prune: b known failing, c fails.
    expect(evaluations.map((e) => `${e.purpose}:${e.keys.join('')}`)).toEqual([
      'baseline:',
      'sensitivity:bc',
      'sensitivity:ac',
      'sensitivity:ab',
      'promotion:b',
      'prune:c',
    ]);
  });

  it('counts NaN scores as the worst', () => {
    const score = (keys: string[]): number => (keys.join('') === 'b' ? Number.NaN : 0.99 + keys.length * 0.0001);
    const { outcome } = drive({ strategy: 'sensitivity', maxPromotions: 1, regions: ['a', 'b'].map(r) }, score);
    expect(outcome.ranking[0].region.key).toBe('a');
  });

  it('gives up when every region is promoted and the target is still missed', () => {
    const { outcome } = drive({ strategy: 'sensitivity', maxPromotions: 9, regions: ['a', 'b'].map(r) }, () => 0.5);
    expect(outcome).toMatchObject({ met: false, stop: 'nothing-to-promote' });
    expect(outcome.promoted).toHaveLength(2);
  });
});

describe('FixSearch protocol', () => {
  it('refuses answers that were not asked for', () => {
    const s = new FixSearch<R>({ strategy: 'bisect', maxPromotions: 1 });
    expect(() => s.reportRegion(r('a'))).toThrow(/no locate pending/);
    s.reportEvaluation({ met: false, score: 0 });
    expect(s.next().kind).toBe('locate');
    expect(() => s.reportEvaluation({ met: true, score: 1 })).toThrow(/none pending/);
  });
});

describe('FixSearch, reachable first', () => {
  const ceiling = r('*');

  it('a target the ceiling misses stops after two evaluations, nothing promoted', () => {
    const { outcome, evaluations, locates } = drive({ strategy: 'bisect', maxPromotions: 8, ceiling }, (keys) =>
      keys.includes('*') ? 0.998 : 0.99,
    );
    expect(outcome).toMatchObject({ met: false, stop: 'unreachable', promoted: [], pruned: [] });
    expect(outcome.final.score).toBe(0.99);
    expect(outcome.reachable).toEqual({ met: false, score: 0.998 });
    expect(evaluations.map((e) => e.purpose)).toEqual(['baseline', 'reachable']);
    expect(locates).toBe(0);
  });

  it('a reachable target goes on to the search and reports the ceiling', () => {
    const gains = { a: 0.0095 };
    const { outcome, evaluations } = drive(
      { strategy: 'bisect', maxPromotions: 8, ceiling },
      (keys) => (keys.includes('*') ? 0.9999 : additive(gains)(keys)),
      () => 'a',
    );
    expect(outcome).toMatchObject({ met: true, stop: 'met', promoted: [r('a')] });
    expect(outcome.reachable?.met).toBe(true);
    expect(evaluations.map((e) => e.purpose)).toEqual(['baseline', 'reachable', 'promotion']);
  });

  it('a plan that already meets the target never measures the ceiling', () => {
    const { outcome, evaluations } = drive({ strategy: 'sensitivity', maxPromotions: 8, regions: [r('a')], ceiling }, () => 0.9995);
    expect(outcome.reachable).toBeNull();
    expect(evaluations).toHaveLength(1);
  });
});

describe('FixSearch, candidates for a culprit', () => {
  /** Drives a bisect-strategy search whose locate answers `candidates` once, then nothing. */
  function withCandidates(candidates: string[], score: (keys: string[]) => number) {
    const search = new FixSearch<R>({ strategy: 'bisect', maxPromotions: 4 });
    const purposes: FixPurpose[] = [];
    let located = false;
    for (;;) {
      const step = search.next();
      if (step.kind === 'done') return { outcome: step.outcome, purposes };
      if (step.kind === 'evaluate') {
        purposes.push(step.purpose);
        const s = score(step.promoted.map((x) => x.key).sort());
        search.reportEvaluation({ met: s >= 0.999, score: s });
      } else if (!located) {
        located = true;
        search.reportCandidates(candidates.map(r));
      } else {
        search.reportCandidates([]);
      }
    }
  }

  it('promotes the first candidate (the cheapest) that meets the target, not the best score', () => {
    const { outcome, purposes } = withCandidates(['cheap', 'dear'], additive({ cheap: 0.0095, dear: 0.0099 }));
    expect(outcome).toMatchObject({ met: true, promoted: [r('cheap')] });
    expect(purposes).toEqual(['baseline', 'candidate']);
  });

  it('when none meets it, promotes the best score and goes on', () => {
    const { outcome } = withCandidates(['a', 'b'], additive({ a: 0.001, b: 0.005 }));
    expect(outcome.promoted).toEqual([r('b')]);
    expect(outcome.stop).toBe('nothing-to-promote');
  });

  it('one candidate, or duplicates of one, is promoted without scoring', () => {
    const { purposes, outcome } = withCandidates(['a', 'a'], additive({ a: 0.0095 }));
    expect(outcome.promoted).toEqual([r('a')]);
    expect(purposes).toEqual(['baseline', 'promotion']);
  });
});

describe('FixSearch, descent from the ceiling', () => {
  it('when promoting up falls short of a reachable target, promotes every part and prunes the dearest first', () => {
    // Bisect keeps naming 'x' (useless); the target needs both a and c; the ceiling meets it.
    const parts = [r('a'), r('b'), r('c')];
    const score = (keys: string[]) => (keys.includes('*') || (keys.includes('a') && keys.includes('c')) ? 0.9995 : 0.99);
    const { outcome, evaluations } = drive(
      { strategy: 'bisect', maxPromotions: 1, ceiling: r('*'), ceilingParts: parts },
      score,
      () => 'x',
    );
    expect(outcome).toMatchObject({ met: true, stop: 'met', descended: true, promoted: [r('a'), r('c')], pruned: [r('b')] });
    expect(evaluations.map((e) => e.purpose)).toEqual(['baseline', 'reachable', 'promotion', 'promotion', 'prune', 'prune', 'prune']);
  });

  it('descends early when the pace of promoting up cannot reach the target within the budget', () => {
    // Bisect names useless regions one by one (each adds 0.0001); the target needs all of a, b, c.
    const parts = [r('a'), r('b'), r('c')];
    const score = (keys: string[]) =>
      keys.includes('*') || ['a', 'b', 'c'].every((k) => keys.includes(k))
        ? 0.9995
        : 0.99 + 0.0001 * keys.filter((k) => k.startsWith('x')).length;
    let n = 0;
    const early = drive(
      { strategy: 'bisect', maxPromotions: 8, ceiling: r('*'), ceilingParts: parts, targetScore: 0.999 },
      score,
      () => `x${n++}`,
    );
    // Two promotions gain 0.0001 each: six more at that pace reach 0.9908, short of 0.999.
    expect(early.outcome).toMatchObject({ met: true, descended: true, promoted: parts });
    expect(early.locates).toBe(2);
    // Without a target score the same search spends its budget of 8 first.
    n = 0;
    const late = drive({ strategy: 'bisect', maxPromotions: 8, ceiling: r('*'), ceilingParts: parts }, score, () => `x${n++}`);
    expect(late.outcome).toMatchObject({ met: true, descended: true, promoted: parts });
    expect(late.locates).toBe(8);
    // A pace that would get there keeps promoting up: each promotion gains 0.002 (target after 5).
    n = 0;
    const steady = drive(
      { strategy: 'bisect', maxPromotions: 8, ceiling: r('*'), ceilingParts: parts, targetScore: 0.999 },
      (keys) => (keys.includes('*') ? 0.9995 : 0.99 + 0.002 * keys.length),
      () => `y${n++}`,
    );
    expect(steady.outcome).toMatchObject({ met: true, descended: false });
    expect(steady.outcome.promoted.length).toBeGreaterThanOrEqual(4);
  });

  it('never descends when the ceiling misses the target', () => {
    const { outcome } = drive(
      { strategy: 'bisect', maxPromotions: 1, ceiling: r('*'), ceilingParts: [r('a')] },
      () => 0.99,
      () => 'x',
    );
    expect(outcome).toMatchObject({ stop: 'unreachable', descended: false });
  });
});

describe('FixSearch.lastChoice', () => {
  it('names the candidate the search chose, even when a descent then replaces the promoted set', () => {
    const search = new FixSearch<R>({ strategy: 'bisect', maxPromotions: 1, ceiling: r('*'), ceilingParts: [r('a'), r('b'), r('c')] });
    const answer = (keys: string[]) => {
      const s = keys.includes('*') || keys.length === 3 ? 0.9995 : keys.includes('y') ? 0.995 : 0.99;
      return { met: s >= 0.999, score: s };
    };
    let chosen: R | null | undefined;
    for (let i = 0; i < 50; i++) {
      const step = search.next();
      if (step.kind === 'done') break;
      if (step.kind === 'evaluate') {
        search.reportEvaluation(answer(step.promoted.map((x) => x.key)));
      } else {
        search.reportCandidates([r('x'), r('y')]);
        // The round closes at the next step that is not a candidate's evaluation.
        let next = search.next();
        while (next.kind === 'evaluate' && next.purpose === 'candidate') {
          search.reportEvaluation(answer(next.promoted.map((x) => x.key)));
          next = search.next();
        }
        chosen = search.lastChoice();
        expect(search.promotedSoFar().map((x) => x.key)).toEqual(['a', 'b', 'c']);
      }
    }
    expect(chosen).toEqual(r('y'));
  });
});
