import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComparisonReport } from '../src/analysis/comparison.js';
import { inProcessRunner } from '../src/app/session/in-process-runner.js';
import type { JobRunner } from '../src/app/session/job-runner.js';
import { applySettings, type JobEnv } from '../src/app/session/session-exec.js';
import type { JobEvent, JobRequest } from '../src/app/session/session-jobs.js';
import {
  checkSettings,
  currentSettings,
  describeSettings,
  reconfigureSession,
  staleFields,
  type SessionSettings,
} from '../src/app/session/session-settings.js';
import { openSession, type Session } from '../src/app/session/session.js';
import type { CalibrationTable } from '../src/quant/calibration-table.js';
import { isolatedCache, REPO } from './helpers/cli.js';

const DEMO = join(REPO, 'models', 'demo-generator.onnx');
const FIXTURE_INPUT = join(REPO, 'fixtures', 'planted-source.onnx');

const base: SessionSettings = { metric: null, threshold: null, target: null, profile: 'generic-int8', calib: [], eval: [] };

describe('staleFields', () => {
  it.each([
    ['nothing', {}, { compare: false, bisect: false, fix: false }],
    ['the metric', { metric: 'cosine' }, { compare: true, bisect: true, fix: false }],
    ['the threshold', { threshold: 20 }, { compare: true, bisect: true, fix: false }],
    ['the target', { target: 'psnrDb>=45' }, { compare: false, bisect: false, fix: true }],
    ['the profile', { profile: 'int8-fp16' }, { compare: true, bisect: true, fix: true }],
    ['the calibration inputs', { calib: ['a.png'] }, { compare: true, bisect: true, fix: true }],
    ['the evaluation inputs', { eval: ['b.png'] }, { compare: true, bisect: true, fix: true }],
  ] as const)('a change of %s', (_what, change, expected) => {
    expect(staleFields(base, { ...base, ...change } as SessionSettings)).toEqual(expected);
  });
});

describe('describeSettings', () => {
  it('says the default gate and target in words', () => {
    expect(describeSettings(base)).toEqual({
      gate: 'snrDb ≥ 30, outputs also psnrDb ≥ 40 (PSNR peak max |x|)',
      target: 'snrDb ≥ 30, psnrDb ≥ 40',
    });
  });
  it('says a chosen metric, threshold and target', () => {
    expect(describeSettings({ ...base, metric: 'cosine', threshold: 0.999, target: 'mse<=1e-3' })).toEqual({
      gate: 'cosine ≥ 0.999',
      target: 'mse ≤ 1e-3',
    });
  });
});

describe('settings of a session on the demo model', () => {
  isolatedCache('qs-settings-');
  let session: Session;
  let runner: JobRunner;
  beforeAll(async () => {
    session = await openSession({ model: { modelPath: DEMO }, quant: {} });
    runner = inProcessRunner(session);
  });
  afterAll(async () => {
    await runner.dispose();
  });

  it('the session opens with the settings it was given', () => {
    expect(currentSettings(session)).toEqual(base);
  });

  it.each([
    ['an unknown metric', { metric: 'snr2' }, /^Metric 'snr2' is not a metric/],
    ['a metric without a default threshold', { metric: 'psnrDb' }, /^Metric psnrDb needs a threshold/],
    ['a threshold that is not finite', { threshold: Number.NaN }, /^Threshold must be a finite number/],
    ['a target that does not parse', { target: 'psnr>40' }, /^The target 'psnr>40' is not of the form/],
    ['an unknown profile', { profile: 'generic-int9' }, /^Unknown profile 'generic-int9'/],
    [
      'a calibration file that does not exist',
      { calib: ['content=/nonexistent/cat.jpg'] },
      /^Calibration path '\/nonexistent\/cat.jpg' does not exist/,
    ],
    [
      'an evaluation file that does not exist',
      { eval: ['style=/nonexistent/dog.jpg'] },
      /^Evaluation path '\/nonexistent\/dog.jpg' does not exist/,
    ],
  ] as const)('checkSettings names %s', (_what, change, message) => {
    expect(checkSettings(session, { ...base, ...change } as SessionSettings)).toMatch(message);
  });

  it('checkSettings passes settings that can run, with a named input on a two-input model', () => {
    expect(checkSettings(session, { ...base, metric: 'cosine', threshold: 0.9, target: 'psnrDb>=30', profile: 'int8-fp16' })).toBeNull();
    // The demo model has two inputs: a bare path cannot say which it feeds.
    expect(checkSettings(session, { ...base, calib: [FIXTURE_INPUT] })).toMatch(/must name one of the model's inputs as NAME=PATH/);
  });

  it('reconfigureSession loads the new profile and resolves the base plan under it; refuses what checkSettings refuses', async () => {
    const next = await reconfigureSession(session, { ...base, profile: 'int8-fp16', threshold: 25 });
    expect(next.profile.name).toBe('int8-fp16');
    expect(next.basePlan.profile).toBe(next.profile);
    expect(next.options.threshold).toBe(25);
    expect(next.ctx).toBe(session.ctx);
    expect(next.evaluation).toBe(session.evaluation);
    expect(currentSettings(next)).toEqual({ ...base, profile: 'int8-fp16', threshold: 25 });
    await expect(reconfigureSession(session, { ...base, profile: 'nope' })).rejects.toThrow(/Unknown profile 'nope'/);
  });

  it('applySettings keeps the calibration across a gate or target change and drops it for a profile or input change', async () => {
    const table = { id: 'kept' } as unknown as CalibrationTable;
    const env: JobEnv = { session, calibration: table };
    await applySettings(env, { ...base, threshold: 12, target: 'psnrDb>=20' });
    expect(env.calibration).toBe(table);
    expect(env.session.options.threshold).toBe(12);
    expect(env.session.options.target).toBe('psnrDb>=20');
    await applySettings(env, { ...base, threshold: 12, target: 'psnrDb>=20', profile: 'int8-fp16' });
    expect(env.calibration).toBeUndefined();
    expect(env.session.profile.name).toBe('int8-fp16');
  });

  const compare = async (settings?: SessionSettings): Promise<{ report: ComparisonReport; events: JobEvent[] }> => {
    const events: JobEvent[] = [];
    const request: JobRequest = { kind: 'compare', edits: [], taps: ['branch_concat_out', 'fuse_norm_out'], settings };
    const outcome = await runner.run(request, (e) => events.push(e), new AbortController().signal);
    if (outcome.kind !== 'compare') throw new Error('wrong outcome');
    return { report: outcome.report, events };
  };
  const calibrated = (events: readonly JobEvent[]): boolean => events.some((e) => e.type === 'stage' && e.stage === 'calibrate');

  it('a compare after a threshold change judges rows by the new threshold without calibrating again; a profile change calibrates', async () => {
    const first = await compare({ ...base, metric: 'snrDb', threshold: 30 });
    expect(calibrated(first.events)).toBe(true);
    const snr = (r: ComparisonReport, t: string): number => r.rows.find((x) => x.tensor === t)?.metrics?.snrDb ?? Number.NaN;
    const low = snr(first.report, 'fuse_norm_out');
    expect(low).toBeLessThan(30);
    expect(first.report.rows.find((r) => r.tensor === 'fuse_norm_out')?.pass).toBe(false);

    // A threshold below the failing tensor's SNR: it passes now, with the same measured values.
    const threshold = Math.floor(low) - 1;
    const second = await compare({ ...base, metric: 'snrDb', threshold });
    expect(calibrated(second.events)).toBe(false);
    expect(second.report.threshold).toBe(threshold);
    for (const r of second.report.rows) {
      expect(r.metrics?.snrDb).toBe(snr(first.report, r.tensor));
      expect(r.pass).toBe((r.metrics?.snrDb ?? Number.NaN) >= threshold);
    }
    expect(second.report.rows.find((r) => r.tensor === 'fuse_norm_out')?.pass).toBe(true);

    const third = await compare({ ...base, metric: 'snrDb', threshold, profile: 'int8-fp16' });
    expect(calibrated(third.events)).toBe(true);
    expect(third.report.profile).toBe('int8-fp16');
    // And back: generic-int8's numbers again (its calibration computed anew, from the cache on disk).
    const fourth = await compare({ ...base, metric: 'snrDb', threshold });
    expect(calibrated(fourth.events)).toBe(true);
    for (const r of fourth.report.rows) expect(r.metrics?.snrDb).toBe(snr(first.report, r.tensor));
  });

  it('a job without settings runs with those of the last job', async () => {
    const { report, events } = await compare();
    expect(calibrated(events)).toBe(false);
    expect(report.metric).toBe('snrDb');
    expect(report.threshold).toBeLessThan(30);
  });
});

describe('settings through the worker runner', () => {
  isolatedCache('qs-settings-worker-');
  it('the worker applies a threshold change without calibrating again and a profile change with', async () => {
    // The worker is the built one (dist/), as the TUI runs it.
    const { workerRunner } = (await import(
      join(REPO, 'dist', 'app', 'session', 'worker-runner.js')
    )) as typeof import('../src/app/session/worker-runner.js');
    const runner = workerRunner({ model: { modelPath: DEMO }, quant: {} });
    try {
      const run = async (settings: SessionSettings) => {
        const events: JobEvent[] = [];
        const outcome = await runner.run(
          { kind: 'compare', edits: [], taps: ['fuse_norm_out'], settings },
          (e) => events.push(e),
          new AbortController().signal,
        );
        if (outcome.kind !== 'compare') throw new Error('wrong outcome');
        return { report: outcome.report, calibrated: events.some((e) => e.type === 'stage' && e.stage === 'calibrate') };
      };
      const a = await run({ ...base, metric: 'snrDb', threshold: 30 });
      const b = await run({ ...base, metric: 'snrDb', threshold: -100 });
      const c = await run({ ...base, metric: 'snrDb', threshold: -100, profile: 'int8-fp16' });
      expect([a.calibrated, b.calibrated, c.calibrated]).toEqual([true, false, true]);
      const row = (r: ComparisonReport) => r.rows.find((x) => x.tensor === 'fuse_norm_out');
      expect(row(a.report)?.pass).toBe(false);
      expect(row(b.report)?.pass).toBe(true);
      expect(row(b.report)?.metrics?.snrDb).toBe(row(a.report)?.metrics?.snrDb);
      expect(c.report.profile).toBe('int8-fp16');
    } finally {
      await runner.dispose();
    }
  });
});
