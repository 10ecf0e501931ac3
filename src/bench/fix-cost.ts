import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareModel } from '../app/compare/compare.js';
import { fix, type FixReport } from '../app/fix.js';
import { figure, ratios, timed, type Figure } from './figures.js';
import type { PreparedModel } from './models.js';

/**
 * Section: what fix costs, as a multiple of one compare (DESIGN.md §8: fix within 10
 * compare-equivalents of wall time). One compare (every tap, own error, the achievable run) and
 * one fix to a target the model's default plan misses, timed in each repetition in alternating
 * order; the ratio is taken within the repetition.
 */
export interface FixRep {
  readonly ms: number;
  readonly compareMs: number;
  readonly quantRuns: number;
  readonly met: boolean;
  readonly stop: FixReport['stop'];
  readonly promoted: number;
  readonly macShare: number;
}

export async function fixCost(
  p: PreparedModel,
  target: string,
  reps: number,
  onStep: (what: string) => void,
): Promise<{ figures: Figure[]; detail: FixRep[] }> {
  const detail: FixRep[] = [];
  const planOut = join(tmpdir(), `quantscope-bench-${p.model.id}.fix-plan.json`);
  for (let r = 0; r < reps; r++) {
    onStep(`${p.model.id} repetition ${r + 1}/${reps} (target ${target})`);
    let compareMs = 0;
    let run: { value: FixReport; ms: number } | null = null;
    const steps = [
      async () => {
        compareMs = (await timed(() => compareModel({ ctx: p.ctx, quant: p.quant }))).ms;
      },
      async () => {
        run = await timed(() => fix({ ctx: p.ctx, quant: p.quant, target, planOut }));
      },
    ];
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]();
    const { value, ms } = run as unknown as { value: FixReport; ms: number };
    detail.push({
      ms,
      compareMs,
      quantRuns: value.quantRuns,
      met: value.met,
      stop: value.stop,
      promoted: value.promoted.length,
      macShare: value.cost.macShareAboveInt8,
    });
  }
  const id = p.model.id;
  const section = 'fix';
  const d = detail[0];
  const note = d
    ? `target ${target}: ${d.met ? 'met' : `missed (${d.stop})`} with ${d.promoted} node(s) promoted, ${(100 * d.macShare).toFixed(1)}% of MACs above INT8, ${d.quantRuns} quant runs`
    : '';
  return {
    figures: [
      figure(
        { id: `fix.${id}.time`, section, model: id, label: 'fix wall time', unit: 's', note },
        detail.map((x) => x.ms / 1000),
      ),
      figure(
        { id: `fix.${id}.compare`, section, model: id, label: 'one compare (every tap, own error, achievable)', unit: 's' },
        detail.map((x) => x.compareMs / 1000),
      ),
      figure(
        {
          id: `fix.${id}.ratio`,
          section,
          model: id,
          label: 'fix / one compare',
          unit: 'x',
          target: { comparator: '<=', value: 10, source: 'DESIGN.md §8', on: 'median' },
        },
        ratios(
          detail.map((x) => x.ms),
          detail.map((x) => x.compareMs),
        ),
      ),
      figure(
        { id: `fix.${id}.runs`, section, model: id, label: 'fix quant runs', unit: 'runs' },
        detail.map((x) => x.quantRuns),
      ),
    ],
    detail,
  };
}
