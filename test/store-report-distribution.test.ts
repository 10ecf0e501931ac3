import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ComparisonReport } from '../src/analysis/comparison.js';
import type { ValueDistribution } from '../src/analysis/distribution.js';
import { readNpy } from '../src/store/npy.js';
import { readManifest } from '../src/store/manifest.js';
import { formatJson, parseReportJson } from '../src/store/report-json.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';
import { demoReport } from './helpers/ui-fakes.js';

/** report.json keeps each row's value distribution, and reads reports written before it. */

const distribution: ValueDistribution = {
  lo: -1,
  hi: 3,
  ref: [1, 2, 0, 1],
  test: [0, 2, 0, 2],
  channels: {
    axis: 1,
    count: 300,
    ranges: [
      { channel: 0, refMin: -1, refMax: 3, testMin: -1, testMax: 3, snrDb: Infinity },
      { channel: 1, refMin: Number.NaN, refMax: Number.NaN, testMin: 0, testMax: 1, snrDb: Number.NaN },
      { channel: 2, refMin: 0, refMax: 0, testMin: 0, testMax: 1, snrDb: -Infinity },
    ],
  },
};

function withDistribution(d: unknown): ComparisonReport {
  const report = demoReport();
  return { ...report, rows: report.rows.map((r, i) => (i === 1 ? { ...r, distribution: d as ValueDistribution } : r)) };
}

describe('report.json value distributions', () => {
  it('writes non-finite channel values as strings and reads the distribution back unchanged', () => {
    const report = withDistribution(distribution);
    const text = formatJson(report);
    expect(text).toContain('"refMin": "NaN"');
    expect(text).toContain('"snrDb": "-Infinity"');
    expect(parseReportJson(text)).toEqual(report);
    expect(parseReportJson(formatJson(withDistribution(null))).rows[1].distribution).toBeNull();
  });

  it('reads a report written before distributions existed', () => {
    const old = demoReport();
    expect(old.rows.every((r) => !('distribution' in r))).toBe(true);
    const back = parseReportJson(formatJson(old));
    expect(back).toEqual(old);
    expect(back.rows[1].distribution).toBeUndefined();
  });

  it.each([
    { d: { lo: 'low', hi: 3, ref: [1], test: [1], channels: null } },
    { d: { lo: 0, hi: 3, ref: [1, 2], test: [1], channels: null } },
    { d: { lo: 0, hi: 3, ref: [1], test: [1], channels: { axis: 1, count: 2, ranges: [{ channel: 0 }] } } },
  ])('rejects a malformed distribution, naming the tensor: $d', ({ d }) => {
    expect(() => parseReportJson(formatJson(withDistribution(d)), 'r.json')).toThrow(
      /r\.json has a distribution for tensor "fuse_norm_out" that is not/,
    );
  });

  it('compare --out keeps every row’s histograms and channel ranges, and they count the dumped tensors', async () => {
    const out = join(tempDir('qs-report-distribution-'), 'run');
    const r = await runCliInProcess(['compare', join(REPO, 'fixtures', 'planted-source.onnx'), '--out', out, '-q', '--no-achievable'], {
      env: { QUANTSCOPE_CACHE: tempDir('qs-report-distribution-cache-') },
    });
    expect(r.code, r.stderr).toBeLessThanOrEqual(1);
    const report = parseReportJson(readFileSync(join(out, 'report.json'), 'utf8'));
    const manifest = readManifest(out);
    expect(report.rows.length).toBeGreaterThan(0);
    for (const row of report.rows) {
      const d = row.distribution;
      expect(d, row.tensor).toBeTruthy();
      if (!d || !row.metrics) continue;
      expect(d.ref).toHaveLength(64);
      const entry = manifest.tensors.find((t) => t.name === row.tensor && t.backend === 'float');
      expect(entry, row.tensor).toBeDefined();
      if (!entry) continue;
      const x = readNpy(join(out, entry.file)).data as Float32Array;
      expect(d.ref.reduce((a, b) => a + b, 0)).toBe(x.filter((v) => Number.isFinite(v)).length);
      expect(d.lo).toBe(Math.min(row.metrics.refRange.min, row.metrics.testRange.min));
      if (row.shape.length >= 2) expect(d.channels?.ranges).toHaveLength(Math.min(256, row.shape[1]));
    }
  });
});
