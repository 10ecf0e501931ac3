import { describe, expect, it } from 'vitest';
import { bindingCondition, DEFAULT_GOAL, marginDb, meetsGoal, parseGoal, psnrAt, requiredSnrDb } from '../src/analysis/gate.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { criterionOf, passesCriterion, searchCriterion, searchSnrDb } from '../src/app/compare/compare-report.js';
import { makeTensor } from '../src/core/tensor.js';

const f32 = (v: number[]) => makeTensor('float32', [v.length], Float32Array.from(v));

/** SNR and PSNR by hand, in float64, from the definitions (DESIGN.md §5), not from computeMetrics. */
function byHand(x: number[], y: number[], peak: number) {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - y[i]) ** 2;
  }
  return { snr: 10 * Math.log10(signal / noise), psnr: 10 * Math.log10((peak * peak) / (noise / x.length)) };
}

// An image-like signal in 0..255 with a small error, values exact in float32.
const X = Array.from({ length: 64 }, (_, i) => (i * 37) % 256);
const Y = X.map((v, i) => v + ((i % 5) - 2) * 0.75);

describe('the default gate (analysis/gate.ts)', () => {
  it('parses conjunctions and refuses empty conditions and bad peaks', () => {
    expect(parseGoal(DEFAULT_GOAL).targets).toEqual([
      { metric: 'snrDb', op: '>=', value: 30 },
      { metric: 'psnrDb', op: '>=', value: 40 },
    ]);
    expect(parseGoal('psnr>=45', 'target', 255)).toEqual({ targets: [{ metric: 'psnrDb', op: '>=', value: 45 }], peak: 255 });
    expect(() => parseGoal('snrDb>=30,', '--target')).toThrow(/--target 'snrDb>=30,' has an empty condition/);
    expect(() => parseGoal('snrDb>=30', '--target', 0)).toThrow(/--peak must be a positive number/);
    expect(() => parseGoal('cosine<=0.9')).toThrow(/should use >=/);
  });

  it('takes PSNR at a given peak from the mse, as computed by hand', () => {
    const m = computeMetrics(f32(X), f32(Y));
    const hand255 = byHand(X, Y, 255);
    expect(psnrAt(m, 255)).toBeCloseTo(hand255.psnr, 9);
    expect(psnrAt(m, null)).toBe(m.psnrDb);
    expect(m.snrDb).toBeCloseTo(hand255.snr, 9);
  });

  it('turns a PSNR condition into the SNR it needs, exactly', () => {
    const m = computeMetrics(f32(X), f32(Y));
    const goal = parseGoal('snrDb>=30,psnrDb>=60', 'target', 255);
    const need = requiredSnrDb(m, goal);
    // PSNR and SNR differ by a constant of x: the SNR that puts the PSNR exactly at 60 dB.
    const hand = byHand(X, Y, 255);
    expect(need).toBeCloseTo(hand.snr + (60 - hand.psnr), 9);
    expect(bindingCondition(m, goal).metric).toBe('psnrDb');
    expect(meetsGoal(m, goal)).toBe(false);
    expect(meetsGoal(m, parseGoal('snrDb>=30,psnrDb>=40', 'target', 255))).toBe(hand.snr >= 30 && hand.psnr >= 40);
  });

  it('measures margins in dB of error power whatever the metric', () => {
    expect(marginDb('snrDb', 33, 30)).toBe(3);
    expect(marginDb('cosine', 0.9999, 0.999)).toBeCloseTo(10, 9);
    expect(marginDb('mse', 1e-4, 1e-3)).toBeCloseTo(10, 9);
    expect(marginDb('rmse', 1e-2, 1e-1)).toBeCloseTo(20, 9);
    expect(marginDb('snrDb', Number.NaN, 30)).toBe(-Infinity);
  });

  it('the default criterion holds outputs to the PSNR as well; a search holds tensors to what the output needs', () => {
    const c = criterionOf(undefined, undefined);
    // An image on a large common offset (200..255): PSNR only about 1 dB above SNR.
    const bright = X.map((v) => 200 + (v % 56));
    const noisy = bright.map((v, i) => v + ((i % 5) - 2) * 3.5);
    const m = computeMetrics(f32(bright), f32(noisy));
    const hand = byHand(bright, noisy, Math.max(...bright));
    expect(hand.snr).toBeGreaterThan(30);
    expect(hand.psnr).toBeLessThan(40);
    // A tensor passes SNR 30; the same values as a graph output fail the PSNR.
    expect(passesCriterion(m, c, false)).toBe(true);
    expect(passesCriterion(m, c, true)).toBe(false);
    const search = searchCriterion(c, m);
    expect(search.metric).toBe('snrDb');
    expect(search.threshold).toBeCloseTo(hand.snr + (40 - hand.psnr), 9);
    expect(search.outputs).toBeNull();
    // An output that already fails the SNR floor is searched at the floor.
    const bad = computeMetrics(f32(X), f32(X.map((v) => v * 0.5)));
    expect(searchSnrDb(30, bad, c.outputs!)).toBe(30);
    // An explicit metric has no output goal; with --peak a PSNR metric holds outputs at that peak.
    expect(criterionOf('cosine', undefined).outputs).toBeNull();
    expect(criterionOf('psnr', 40, 255).outputs).toEqual({ targets: [{ metric: 'psnrDb', op: '>=', value: 40 }], peak: 255 });
  });
});
