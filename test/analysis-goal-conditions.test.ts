import { describe, expect, it } from 'vitest';
import { parseGoal } from '../src/analysis/gate.js';
import { bindingState, goalConditions } from '../src/analysis/goal-conditions.js';
import type { Metrics } from '../src/analysis/metrics.js';

/** Metrics where only the fields a goal reads matter: PSNR at the tensor's own peak, SNR, cosine. */
const m = (snrDb: number, psnrDb: number, nonFiniteIntroduced = 0): Metrics =>
  ({ snrDb, psnrDb, cosine: 0.99, mse: 1, nonFiniteIntroduced }) as unknown as Metrics;

describe('goalConditions', () => {
  const goal = parseGoal('snrDb>=30,psnrDb>=40');

  it('takes each condition on the tensor where it is furthest from holding', () => {
    const c = goalConditions([m(35, 38), m(28, 45)], goal);
    expect(c).toEqual([
      { metric: 'snrDb', op: '>=', threshold: 30, value: 28, margin: -2, holds: false },
      { metric: 'psnrDb', op: '>=', threshold: 40, value: 38, margin: -2, holds: false },
    ]);
    // Ties go to the first condition.
    expect(bindingState(c)?.metric).toBe('snrDb');
    expect(bindingState(goalConditions([m(35, 38)], goal))).toMatchObject({ metric: 'psnrDb', value: 38, margin: -2 });
  });

  it('holds when every tensor meets it', () => {
    expect(goalConditions([m(31, 41), m(45, 50)], goal).map((x) => x.holds)).toEqual([true, true]);
  });

  it('a NaN value has a margin of −∞ and does not hold', () => {
    const [snr] = goalConditions([m(35, 45), m(Number.NaN, 45)], goal);
    expect(snr.value).toBeNaN();
    expect(snr).toMatchObject({ margin: -Infinity, holds: false });
  });

  it('NaN/Inf introduced fails every condition, whatever the values', () => {
    const c = goalConditions([m(50, 60, 3)], goal);
    expect(c.map((x) => [x.value, x.margin, x.holds])).toEqual([
      [50, -Infinity, false],
      [60, -Infinity, false],
    ]);
  });

  it('an exact match (+Inf) holds; no tensors hold nothing', () => {
    expect(goalConditions([m(Infinity, Infinity)], goal).every((x) => x.holds && x.margin === Infinity)).toBe(true);
    expect(goalConditions([], goal)).toEqual([
      { metric: 'snrDb', op: '>=', threshold: 30, value: null, margin: Infinity, holds: false },
      { metric: 'psnrDb', op: '>=', threshold: 40, value: null, margin: Infinity, holds: false },
    ]);
    expect(bindingState([])).toBeNull();
  });
});
