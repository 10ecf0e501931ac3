import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { bisect } from '../src/app/bisect/bisect.js';
import { fix, type FixOptions } from '../src/app/fix.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { fixtureByName } from '../src/models/fixtures.js';
import { readPlanFile } from '../src/store/plan-file.js';
import { HAS_SHARED, REPO, SHARED, isolatedCache } from './helpers/cli.js';

const dir = isolatedCache('qs-fix-');

async function fixFixture(name: string, extra: Partial<FixOptions> = {}) {
  const fixture = fixtureByName(name);
  if (!fixture) throw new Error(`no fixture ${name}`);
  const ctx = await openModel({ modelPath: join(REPO, fixture.file) });
  const quant = await setUpQuant(ctx, { profile: fixture.profile });
  return { fixture, report: await fix({ ctx, quant, planOut: join(dir, `${name}.plan.json`), target: 'cosine>=0.999', ...extra }) };
}

describe('fix on the planted fixtures (target cosine >= 0.999)', () => {
  it.each([
    // planted_conv at INT16 still reads the outlier tensor stored at INT8: the next round promotes
    // the Conv that stores it (one promotion beyond the planted node), and pruning keeps both.
    // Each at a16w8, the cheaper level, scored before int16 (16-bit activations are what it takes).
    { name: 'outlier-channel', promoted: ['planted_conv', 'outlier_conv'], precisions: ['a16w8', 'a16w8'], runs: 10 },
    { name: 'reducemean-overflow', promoted: ['planted_mean'], precisions: ['fp32'], runs: 8 },
    { name: 'concat-ranges', promoted: ['concat_consumer'], precisions: ['a16w8'], runs: 6 },
    { name: 'non-monotone', promoted: ['planted_nonmono'], precisions: ['a16w8'], runs: 9 },
    // Each count includes the run of the ceiling plan (everything promoted) right after the first,
    // and one run per extra candidate scored (reducemean-overflow: its consumer's kernel too).
  ])('$name: promotes $promoted', async ({ name, promoted, precisions, runs }) => {
    const { fixture, report } = await fixFixture(name);
    expect(report.met).toBe(true);
    expect(report.before[0].pass).toBe(false);
    expect(report.outputs[0].pass).toBe(true);
    expect(report.outputs[0].metrics.cosine).toBeGreaterThanOrEqual(0.999);
    expect(report.promoted).toEqual(promoted);
    expect(report.regions.flatMap((r) => r.changes.map((c) => c.to))).toEqual(precisions);
    // The planted node (or its consumer) is promoted, with at most one more.
    const planted = new Set([fixture.planted, ...(fixture.related ?? [])]);
    expect(report.promoted.some((n) => planted.has(n))).toBe(true);
    expect(report.promoted.filter((n) => !planted.has(n)).length + Math.min(1, report.promoted.length)).toBeLessThanOrEqual(2);
    expect(report.quantRuns).toBe(runs);
    // The plan file reproduces the plan.
    const file = readPlanFile(report.plan);
    expect(file.profile).toBe(fixture.profile);
    expect(file.overrides).toEqual(report.regions.flatMap((r) => r.changes.map((c) => [c.node, c.to])));
    expect(report.cost.totalMacs).toBeGreaterThan(0);
  });

  it('a target beyond what everything promoted reaches stops at once, with the reachable value', async () => {
    const { report } = await fixFixture('concat-ranges', { target: 'snrDb>=200' });
    expect(report).toMatchObject({ met: false, stop: 'unreachable', promoted: [], regions: [], quantRuns: 2 });
    expect(report.reachable).toBeGreaterThan(report.before.map((o) => o.metrics.snrDb).reduce((a, b) => Math.min(a, b)));
    expect(report.reachable).toBeLessThan(200);
    expect(report.rounds).toEqual([]);
  });

  it('sensitivity strategy: ranks every kernel and promotes the one that matters', async () => {
    const { report } = await fixFixture('concat-ranges', { strategy: 'sensitivity' });
    expect(report.met).toBe(true);
    expect(report.promoted).toEqual(['concat_consumer']);
    expect(report.ranking.map((r) => r.region)).toHaveLength(3);
    expect(report.ranking[0].region).toBe('concat_consumer');
    expect(report.rounds).toEqual([]);
  });

  it('stops at the promotion budget and says the target is not met', async () => {
    const { report } = await fixFixture('outlier-channel', { maxPromotions: 1 });
    expect(report.met).toBe(false);
    expect(report.stop).toBe('budget');
    expect(report.promoted).toEqual(['planted_conv']);
    expect(existsSync(report.plan)).toBe(true);
  });

  it('a target already met promotes nothing', async () => {
    const { report } = await fixFixture('outlier-channel', { target: 'cosine>=0.1' });
    expect(report).toMatchObject({ met: true, promoted: [], quantRuns: 1 });
    expect(report.cost.macShareAboveInt8).toBe(0);
  });

  it('refuses a bad target or budget in one sentence', async () => {
    await expect(fixFixture('outlier-channel', { target: 'cosine<=0.9' })).rejects.toThrow(/--target 'cosine<=0.9' should use >=/);
    await expect(fixFixture('outlier-channel', { maxPromotions: -1 })).rejects.toThrow(/--max-promotions must be a whole number/);
  });
});

const UDNIE = join(SHARED, 'models', 'udnie.onnx');
const IMAGES = join(SHARED, 'images');
if (!HAS_SHARED) console.log(`skipping the udnie fix test: ${SHARED} is absent`);

describe.skipIf(!HAS_SHARED)('bisect and fix on udnie', { tags: ['slow'] }, () => {
  it('INT8 keeps cosine above 0.999 but loses PSNR; bisect stays within its run budget; fix --target psnrDb>=45 reaches it', async () => {
    const ctx = await openModel({ modelPath: UDNIE, inputs: [join(IMAGES, 'fish_720.png')], preprocess: 'size=720x720' });
    const quant = await setUpQuant(ctx, { calib: ['cat.jpg', 'dog.jpg', 'hummingbird.jpg'].map((f) => join(IMAGES, f)) });

    const b = await bisect({ ctx, quant, metric: 'psnrDb', threshold: 45 });
    console.log(
      `udnie bisect psnrDb>=45: culprit ${b.culprit?.node} (${b.culprit?.opType}), ${b.quantRuns} quant runs over ${b.candidates} candidates (budget ${b.runBudget})`,
    );
    expect(b.output.pass).toBe(false);
    expect(b.culprit).not.toBeNull();
    expect(b.quantRuns).toBeLessThanOrEqual(b.runBudget);
    expect(b.inputs.every((i) => i.pass)).toBe(true);

    const report = await fix({ ctx, quant, target: 'psnrDb>=45', maxPromotions: 16, planOut: join(dir, 'udnie.plan.json') });
    const before = report.before[0].metrics;
    const after = report.outputs[0].metrics;
    console.log(
      `udnie fix psnrDb>=45: PSNR ${before.psnrDb.toFixed(2)} -> ${after.psnrDb.toFixed(2)} dB, cosine ${before.cosine.toFixed(6)} -> ${after.cosine.toFixed(6)}; ` +
        `promoted ${report.promoted.join(', ')} (pruned ${report.pruned.map((r) => r.changes.map((c) => c.node).join('+')).join(', ') || 'none'}); ` +
        `${(100 * report.cost.macShareAboveInt8).toFixed(1)}% of MACs, ${(100 * report.cost.weightShareAboveInt8).toFixed(1)}% of weights above INT8; ${report.quantRuns} quant runs`,
    );
    expect(before.cosine).toBeGreaterThan(0.999);
    expect(before.psnrDb).toBeLessThan(45);
    expect(report.met).toBe(true);
    expect(after.psnrDb).toBeGreaterThanOrEqual(45);
    expect(report.promoted.length).toBeGreaterThan(0);
    // Short of promoting everything (all-INT16 puts 100% of the MACs above INT8). The search
    // runs at the SNR the output needs (app/fix.ts locateCriterion): measured 71.0% of MACs, 127 runs.
    expect(report.cost.macShareAboveInt8).toBeLessThan(0.8);
    expect(report.quantRuns).toBeLessThanOrEqual(150);
    // About 3 minutes alone on 2 idle cores (some 150 quant runs of udnie at 720x720); room for a busy machine.
  }, 900_000);
});
