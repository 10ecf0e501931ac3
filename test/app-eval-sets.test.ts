import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisect } from '../src/app/bisect/bisect.js';
import { compareModel } from '../src/app/compare/compare.js';
import { compareOverEvaluation } from '../src/app/compare/compare-eval.js';
import { openModel } from '../src/app/context.js';
import { evaluationContexts } from '../src/app/evaluation.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { REPO, isolatedCache, runCliInProcess } from './helpers/cli.js';
import { writeCalibrationImages } from './helpers/quant-setup.js';

const dir = isolatedCache('qs-eval-sets-');
const MODEL = join(REPO, 'fixtures', 'opset13-convnet.onnx');

/**
 * compare and bisect over an evaluation set (`--eval`): one input at a time, each tensor reported
 * on the input where it is worst, the outputs per input, mean and worst, and the in-sample warning.
 */
describe('compare and bisect over an evaluation set', () => {
  it("each row is the tensor on its worst input; each input's outputs equal a compare of that input alone", async () => {
    const calib = await writeCalibrationImages(join(dir, 'calib'), 2, 11);
    const evalImages = await writeCalibrationImages(join(dir, 'eval'), 3, 101);
    const ctx = await openModel({ modelPath: MODEL, inputs: [evalImages[0]] });
    const evaluation = await evaluationContexts(ctx, evalImages);
    const quant = await setUpQuant(ctx, { calib });
    const merged = (await compareOverEvaluation({ ctx, evaluation, quant, own: false, achievable: false })).report;
    expect(merged.evaluation?.inputs).toEqual(evalImages);
    expect(merged.inSample).toBeNull();
    const alone = [];
    for (const c of evaluation) alone.push((await compareModel({ ctx: c, quant, own: false, achievable: false })).report);
    // Per input: the outputs as a compare of that input alone measures them.
    alone.forEach((r, k) => {
      const out = r.rows.find((row) => row.tensor === 'logits');
      expect(merged.evaluation?.perInput[k].outputs[0].metrics?.snrDb).toBe(out?.metrics?.snrDb);
      expect(merged.evaluation?.perInput[k].failing).toBe(r.rows.filter((row) => !row.pass).length);
    });
    // Each merged row is the lowest SNR over the inputs, and says which input that was.
    for (const row of merged.rows) {
      const values = alone.map((r) => r.rows.find((x) => x.tensor === row.tensor)?.metrics?.snrDb as number);
      expect(row.metrics?.snrDb).toBe(Math.min(...values));
      expect(values[row.worstInput as number]).toBe(row.metrics?.snrDb);
    }
    const mean = alone.reduce((s, r) => s + (r.rows.find((x) => x.tensor === 'logits')?.metrics?.snrDb as number), 0) / alone.length;
    expect(merged.evaluation?.mean[0].snrDb).toBeCloseTo(mean, 12);
  });

  it('bisect measures every input and bisects the one where the output is worst; calibrating on an evaluation input is in-sample', async () => {
    const evalImages = await writeCalibrationImages(join(dir, 'eval2'), 2, 201);
    const ctx = await openModel({ modelPath: MODEL, inputs: [evalImages[0]] });
    const evaluation = await evaluationContexts(ctx, evalImages);
    const quant = await setUpQuant(ctx, { calib: [evalImages[1]] });
    const report = await bisect({ ctx, quant, evaluation, metric: 'snrDb', threshold: 80 });
    const ev = report.evaluation;
    expect(ev?.inputs).toEqual(evalImages);
    expect(ev?.runs).toBe(2);
    const snr = ev?.outputs.map((o) => o[0].metrics.snrDb) as number[];
    expect(ev?.bisected).toBe(snr[0] <= snr[1] ? 0 : 1);
    expect(report.output.metrics.snrDb).toBe(snr[ev?.bisected as number]);
    expect(report.culprit).not.toBeNull();
    expect(report.quantRuns).toBeLessThanOrEqual(report.runBudget);
    expect(report.inSample).toMatch(/^in-sample: 1 of 2 evaluation inputs are also a calibration input/);
  });

  it('the CLI prints every input and the mean, and writes one run directory per input', async () => {
    const evalImages = await writeCalibrationImages(join(dir, 'eval3'), 2, 301);
    const calib = await writeCalibrationImages(join(dir, 'calib3'), 2, 311);
    const out = join(dir, 'run');
    const r = await runCliInProcess([
      'compare',
      MODEL,
      '--calib',
      ...calib,
      '--eval',
      ...evalImages,
      '--out',
      out,
      '--no-own',
      '--no-achievable',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Over 2 evaluation inputs; each row is the tensor on the input where it is worst.');
    for (const f of evalImages) expect(r.stdout).toContain(`  ${f}: `);
    for (const f of ['report.json', join('input-1', 'report.json'), join('input-2', 'report.json')])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(r.stdout).toMatch(/^ {2}mean over the inputs: logits cosine 0\.\d{6}, snrDb \d+\.\d\d, psnrDb \d+\.\d\d\.$/m);
    const b = await runCliInProcess([
      'bisect',
      MODEL,
      '--calib',
      ...calib,
      '--eval',
      ...evalImages,
      '--metric',
      'snrDb',
      '--threshold',
      '80',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^evaluation: 2 inputs \(2 quant runs\), bisect runs on the one marked \*/m);
    expect(b.stdout.split('\n').filter((l) => l.startsWith('  * '))).toHaveLength(1);
  });
});

describe('the TUI session over an evaluation set', () => {
  it('compare and bisect jobs measure every --eval input; the header says how many', async () => {
    const { openSession } = await import('../src/app/session/session.js');
    const { inProcessRunner } = await import('../src/app/session/in-process-runner.js');
    const evalImages = await writeCalibrationImages(join(dir, 'eval4'), 2, 401);
    const calib = await writeCalibrationImages(join(dir, 'calib4'), 2, 411);
    const session = await openSession({
      model: { modelPath: MODEL, inputs: [evalImages[0]] },
      quant: { calib },
      eval: evalImages,
      metric: 'snrDb',
      threshold: 80,
    });
    expect(session.evaluation).toHaveLength(2);
    expect(session.inputLabels[0]).toMatch(/^eval 2 inputs \(calib-0\.png, calib-1\.png\)$/);
    const runner = inProcessRunner(session);
    try {
      const compared = await runner.run({ kind: 'compare', edits: [] }, () => {}, new AbortController().signal);
      if (compared.kind !== 'compare') throw new Error('wrong outcome');
      expect(compared.report.evaluation?.inputs).toEqual(evalImages);
      const bisected = await runner.run({ kind: 'bisect', edits: [] }, () => {}, new AbortController().signal);
      if (bisected.kind !== 'bisect') throw new Error('wrong outcome');
      // Bisected on the input where the output is worst: the same value as the merged compare's output row.
      const out = compared.report.rows.find((r) => r.tensor === 'logits');
      expect(bisected.result.culprit).not.toBeNull();
      expect(out?.worstInput).toBeDefined();
    } finally {
      await runner.dispose();
    }
  });
});
