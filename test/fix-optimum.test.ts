import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { fix, planWith, sensitivityRegions, type Region } from '../src/app/fix.js';
import { quantBackendFor } from '../src/app/quantize.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { floatBackendFor } from '../src/app/context.js';
import { meetsTarget, parseTarget, computeMetrics } from '../src/analysis/metrics.js';
import { planCost } from '../src/quant/cost.js';
import type { Tensor } from '../src/core/tensor.js';
import { FIXTURES } from '../src/models/fixtures.js';
import { isolatedCache, REPO } from './helpers/cli.js';

/**
 * Fix judged against the optimum (DESIGN.md §5, §8): on every small generated model, an
 * exhaustive search over the same candidates (every subset of the kernels fix can promote)
 * finds the cheapest plan that meets the target; fix must meet it too, at a cost (MACs above
 * INT8) within 1.25x of that optimum. Fixtures with more than 10 candidate kernels are left out
 * (2^10 plans).
 */

const dir = isolatedCache('qs-fix-optimum-');
/** fix's default target, and two stricter ones that make the small graphs need more (or cannot be met). */
const TARGETS = ['cosine>=0.999', 'snrDb>=40', 'snrDb>=50'];

describe.each(FIXTURES.filter((f) => f.name !== 'wide-1000'))('$name', (fixture) => {
  it.each(TARGETS)(
    '%s: fix meets it within 1.25x of the cheapest plan that does, or says at once that none does',
    async (TARGET) => {
      const ctx = await openModel({ modelPath: join(REPO, fixture.file) });
      const quant = await setUpQuant(ctx, { profile: fixture.profile ?? 'generic-int8' });
      const target = parseTarget(TARGET);
      const regions = sensitivityRegions(ctx.graph, quant.plan);
      if (regions.length > 10) return;
      const shapes = new Map(
        [...ctx.values].flatMap(([k, v]) =>
          v.shape && v.shape.every((d) => typeof d === 'number') ? [[k, v.shape as number[]] as const] : [],
        ),
      );
      const float = await floatBackendFor(ctx);
      const reference = await float.run(ctx.feeds, []);
      await float.dispose();
      const outputs = ctx.graph.outputs.map((o) => o.name);
      const meets = async (promoted: readonly Region[]): Promise<boolean> => {
        const backend = await quantBackendFor(ctx, planWith(ctx.graph, quant.plan, promoted), quant.calibration);
        try {
          const got = await backend.run(ctx.feeds, []);
          return outputs.every((o) => meetsTarget(computeMetrics(reference.get(o) as Tensor, got.get(o) as Tensor), target));
        } finally {
          await backend.dispose();
        }
      };
      let best: { macs: number; nodes: number; promoted: Region[] } | null = null;
      for (let mask = 0; mask < 2 ** regions.length; mask++) {
        const promoted = regions.filter((_, i) => mask & (1 << i));
        const cost = planCost(ctx.graph, planWith(ctx.graph, quant.plan, promoted), shapes);
        const nodes = promoted.reduce((n, r) => n + r.changes.length, 0);
        if (best && (cost.macsAboveInt8 > best.macs || (cost.macsAboveInt8 === best.macs && nodes >= best.nodes))) continue;
        if (await meets(promoted)) best = { macs: cost.macsAboveInt8, nodes, promoted };
      }
      const report = await fix({ ctx, quant, target: TARGET, planOut: join(dir, `optimum-${fixture.name}.json`) });
      const optimum = best
        ? `${best.macs} MACs (${best.promoted.map((r) => r.changes.map((c) => c.node).join('+')).join(', ') || 'nothing'})`
        : 'none';
      console.log(
        `${fixture.name}: fix ${report.met ? 'met' : 'missed'} with ${report.cost.macsAboveInt8} MACs above INT8 (${report.promoted.join(', ') || 'nothing'}); optimum ${optimum}`,
      );
      if (!best) {
        // Out of reach: fix must notice it from the ceiling plan and promote nothing.
        expect(report).toMatchObject({ met: false, stop: 'unreachable', promoted: [] });
        return;
      }
      expect(report.met).toBe(true);
      expect(report.cost.macsAboveInt8).toBeLessThanOrEqual(1.25 * best.macs);
    },
    120_000,
  );
});
