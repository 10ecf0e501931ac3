import { bisect, type BisectReport } from '../app/bisect/bisect.js';
import { quantBackendFor } from '../app/quantize.js';
import { figure, ratios, timed, type Figure } from './figures.js';
import type { PreparedModel } from './models.js';

/**
 * Section 3: what bisect costs. Quant runs used against ⌈log2 N⌉ + 2 (N candidates, DESIGN.md §8),
 * and wall time against one quant run: building the QDQ model and its session and running it once
 * with no taps, which is what each probe of bisect does. Both are measured in each repetition, in
 * alternating order; the ratio is taken within the repetition.
 */
export interface BisectRep {
  readonly ms: number;
  readonly oneRunMs: number;
  readonly quantRuns: number;
  readonly runBudget: number;
  readonly candidates: number;
  readonly culprit: string | null;
  readonly monotone: boolean;
}

async function oneQuantRun(p: PreparedModel): Promise<number> {
  const { ms } = await timed(async () => {
    const q = await quantBackendFor(p.ctx, p.quant.plan, p.quant.calibration);
    try {
      await q.run(p.ctx.feeds, []);
    } finally {
      await q.dispose();
    }
  });
  return ms;
}

export async function bisectCost(
  p: PreparedModel,
  reps: number,
  onStep: (what: string) => void,
): Promise<{ figures: Figure[]; detail: BisectRep[] }> {
  const detail: BisectRep[] = [];
  await oneQuantRun(p); // warm-up: onnxruntime's first session in a process loads its kernels
  for (let r = 0; r < reps; r++) {
    onStep(`${p.model.id} repetition ${r + 1}/${reps}`);
    let one = 0;
    let run: { value: BisectReport; ms: number } | null = null;
    const steps = [
      async () => {
        one = await oneQuantRun(p);
      },
      async () => {
        run = await timed(() => bisect({ ctx: p.ctx, quant: p.quant, metric: 'cosine', threshold: p.model.bisectThreshold }));
      },
    ];
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]();
    const { value, ms } = run as unknown as { value: BisectReport; ms: number };
    detail.push({
      ms,
      oneRunMs: one,
      quantRuns: value.quantRuns,
      runBudget: value.runBudget,
      candidates: value.candidates,
      culprit: value.culprit?.node ?? null,
      monotone: value.monotone,
    });
  }
  const id = p.model.id;
  const section = 'bisect';
  const budget = detail[0]?.runBudget ?? 0;
  const culprit = detail[0]?.culprit;
  const figures = [
    figure(
      {
        id: `bisect.${id}.runs`,
        section,
        model: id,
        label: `quant runs (N=${detail[0]?.candidates ?? 0}, budget ⌈log2 N⌉+2 = ${budget})`,
        unit: 'runs',
        target: { comparator: '<=', value: budget, source: 'DESIGN.md §8', on: 'worst' },
        note: `threshold cosine ${p.model.bisectThreshold}; culprit ${culprit ?? 'none (the output passes)'}`,
      },
      detail.map((d) => d.quantRuns),
    ),
    figure(
      { id: `bisect.${id}.time`, section, model: id, label: 'bisect wall time', unit: 's' },
      detail.map((d) => d.ms / 1000),
    ),
    figure(
      { id: `bisect.${id}.one-run`, section, model: id, label: 'one quant run (QDQ build, session, run)', unit: 's' },
      detail.map((d) => d.oneRunMs / 1000),
    ),
    figure(
      { id: `bisect.${id}.ratio`, section, model: id, label: 'bisect / one quant run', unit: 'x' },
      ratios(
        detail.map((d) => d.ms),
        detail.map((d) => d.oneRunMs),
      ),
    ),
  ];
  return { figures, detail };
}
