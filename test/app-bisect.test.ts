import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisectRunBudget } from '../src/analysis/bisect.js';
import { bisect } from '../src/app/bisect/bisect.js';
import { openModel } from '../src/app/context.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { fixtureByName } from '../src/models/fixtures.js';
import { REPO, isolatedCache } from './helpers/cli.js';

isolatedCache('qs-bisect-');

async function bisectFixture(name: string, extra: { metric?: string; threshold?: number; output?: string } = {}) {
  const fixture = fixtureByName(name);
  if (!fixture) throw new Error(`no fixture ${name}`);
  const ctx = await openModel({ modelPath: join(REPO, fixture.file) });
  const quant = await setUpQuant(ctx, { profile: fixture.profile });
  return { fixture, report: await bisect({ ctx, quant, ...extra }) };
}

describe('bisect on the planted fixtures', () => {
  // Each planted fault is named within ⌈log2 N⌉ + 2 quant runs (the run with no taps counted).
  it.each([
    // The planted Conv reads an outlier channel through one per-tensor scale: itself the culprit.
    { name: 'outlier-channel', culprit: 'planted_conv', opType: 'Conv', runs: 3, candidates: 2, inputs: ['outlier_conv_out'] },
    // The fp16 running sum overflows: the ReduceMean itself, a float op at fp16.
    { name: 'reducemean-overflow', culprit: 'planted_mean', opType: 'ReduceMean', runs: 5, candidates: 6, inputs: ['offset_out'] },
    // The Concat is exact; its consumer quantizes the join: the consumer, with the Concat as its input.
    { name: 'concat-ranges', culprit: 'concat_consumer', opType: 'Conv', runs: 4, candidates: 4, inputs: ['planted_concat_out'] },
    { name: 'planted-source', culprit: 'planted_source', opType: 'Conv', runs: 5, candidates: 8, inputs: ['spike_out'] },
  ])('$name: $culprit in $runs quant runs', async ({ name, culprit, opType, runs, candidates, inputs }) => {
    const { fixture, report } = await bisectFixture(name);
    expect(report.output.pass).toBe(false);
    expect(report.culprit?.node).toBe(culprit);
    expect(culprit === fixture.planted || fixture.related?.includes(culprit)).toBe(true);
    expect(report.culprit?.opType).toBe(opType);
    expect(report.candidates).toBe(candidates);
    expect(report.quantRuns).toBe(runs);
    expect(report.quantRuns).toBeLessThanOrEqual(bisectRunBudget(report.candidates));
    expect(report.runBudget).toBe(bisectRunBudget(candidates));
    expect(report.monotone).toBe(true);
    expect(report.certificate).toBe('inputs-pass');
    expect(report.inputs.map((i) => i.tensor)).toEqual(inputs);
    expect(report.inputs.every((i) => i.pass && i.metrics !== null)).toBe(true);
    // One tap per search probe; the certificate taps the inputs and the culprit together.
    for (const p of report.probes) {
      if (p.kind === 'search') expect(p.taps).toHaveLength(1);
      else expect(p.taps.map((t) => t.tensor)).toEqual([...inputs, report.culprit?.tensor]);
    }
    expect(report.probes.length + 1).toBe(report.quantRuns);
    expect(report.perturbation?.output).toBe('y');
  });

  it('concat-ranges: the planted Concat is among the culprit’s inputs', async () => {
    const { report } = await bisectFixture('concat-ranges');
    const ctx = await openModel({ modelPath: join(REPO, 'fixtures', 'concat-ranges.onnx') });
    expect(ctx.graph.producer.get(report.inputs[0].tensor)?.name).toBe('planted_concat');
  });

  it('non-monotone: names the planted node and says the error was not monotone', async () => {
    const { report } = await bisectFixture('non-monotone');
    expect(report.culprit?.node).toBe('planted_nonmono');
    expect(report.monotone).toBe(false);
    // The binary search lands on skip_add; its certificate shows planted_nonmono failing, whose
    // only input (pre_gain, a float Mul of the graph input) cannot differ.
    expect(report.probes.map((p) => p.kind)).toEqual(['search', 'search', 'search', 'certificate']);
    expect(report.probes[1].taps[0].tensor).toBe('skip_add_out');
    expect(report.certificate).toBe('inputs-identical');
    expect(report.inputs).toEqual([{ tensor: 'pre_gain_out', metrics: null, pass: true, identical: true }]);
    expect(report.quantRuns).toBe(5);
  });

  it('an output that passes is reported without a search', async () => {
    const { report } = await bisectFixture('outlier-channel', { metric: 'cosine', threshold: 0.1 });
    expect(report.output.pass).toBe(true);
    expect(report.culprit).toBeNull();
    expect(report.probes).toEqual([]);
    expect(report.quantRuns).toBe(1);
  });

  it('refuses an --output that is not a graph output, naming the outputs', async () => {
    await expect(bisectFixture('outlier-channel', { output: 'outlier_conv_out' })).rejects.toThrow(
      /'outlier_conv_out' is not a graph output; the outputs are 'y'/,
    );
  });

  it('bisects on another metric and threshold', async () => {
    const { report } = await bisectFixture('reducemean-overflow', { metric: 'snr', threshold: 40 });
    expect(report.metric).toBe('snrDb');
    expect(report.culprit?.node).toBe('planted_mean');
  });
});
