import { describe, expect, it } from 'vitest';
import type { ComparisonReport } from '../src/analysis/comparison.js';
import { reportSummary } from '../src/ui/result-rows.js';

const base: ComparisonReport = {
  schemaVersion: 1,
  metric: 'cosine',
  threshold: 0.99,
  rows: [],
  firstFailing: null,
  worstSource: null,
  outputs: [],
  perturbation: null,
  achievable: null,
};

describe('the results summary of the terminal UI', () => {
  it('says IN-SAMPLE first on its second line when the report was measured on a calibration input', () => {
    const [, second] = reportSummary({ ...base, inSample: 'in-sample: every evaluation input is also a calibration input, …' });
    expect(second.startsWith('IN-SAMPLE: calibrated on this input')).toBe(true);
  });

  it('says nothing of it otherwise', () => {
    expect(reportSummary({ ...base, inSample: null })[1]).not.toMatch(/IN-SAMPLE/);
    expect(reportSummary(base)[1]).not.toMatch(/IN-SAMPLE/);
  });
});
