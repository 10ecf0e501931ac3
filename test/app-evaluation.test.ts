import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { emitModel } from '../src/app/emit/emit.js';
import { evaluationContexts, inSampleInputs, inSampleWarning } from '../src/app/evaluation.js';
import { fix } from '../src/app/fix.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { isolatedCache, REPO, runCliInProcess } from './helpers/cli.js';
import { writeSyntheticCalibration } from './helpers/quant-setup.js';

/**
 * Evaluation sets apart from calibration (measured before: a fixed model at cosine 0.9997 on its
 * own calibration input and 0.982 on new ones, with nothing said). The target holds on the worst
 * evaluation input, every input is reported, and an overlap with calibration says in-sample.
 */

const dir = isolatedCache('qs-app-evaluation-');
const MODEL = join(REPO, 'fixtures', 'concat-ranges.onnx');

describe('evaluation sets', () => {
  const calib = () => writeSyntheticCalibration(MODEL, join(dir, 'calib'), [1, 2]);
  const evals = () => writeSyntheticCalibration(MODEL, join(dir, 'eval'), [7, 8, 9]);

  it('fix judges the target on the worst evaluation input and reports each', async () => {
    const ctx = await openModel({ modelPath: MODEL });
    const evaluation = await evaluationContexts(ctx, evals());
    expect(evaluation).toHaveLength(3);
    expect(new Set(evaluation.map((c) => c.sources[0].sha256)).size).toBe(3);
    const quant = await setUpQuant(ctx, { profile: 'generic-int8', calib: calib() });
    const report = await fix({ ctx, quant, evaluation, planOut: join(dir, 'plan.json') });
    expect(report.evaluation.inputs).toHaveLength(3);
    expect(report.evaluation.after).toHaveLength(3);
    expect(report.evaluation.inSample).toEqual([]);
    expect(report.evaluation.warning).toBeNull();
    // The reported outputs are the worst over the inputs, and the target holds on all of them when met.
    for (const [k, o] of report.outputs.entries()) {
      const all = report.evaluation.after.map((i) => i.outputs[k].metrics.cosine);
      expect(o.metrics.cosine).toBe(Math.min(...all));
    }
    if (report.met) expect(report.evaluation.after.every((i) => i.outputs.every((o) => o.pass))).toBe(true);
  });

  it('says in-sample when the evaluation inputs were calibrated on', async () => {
    const ctx = await openModel({ modelPath: MODEL });
    const values = evals();
    const evaluation = await evaluationContexts(ctx, values);
    const inSample = await setUpQuant(ctx, { profile: 'generic-int8', calib: values });
    expect(inSampleInputs(evaluation, inSample.calibration)).toHaveLength(3);
    expect(inSampleWarning(evaluation, inSample.calibration)).toMatch(/^in-sample: every evaluation input is also a calibration input/);
    const partly = await setUpQuant(ctx, { profile: 'generic-int8', calib: [...calib(), values[0]] });
    expect(inSampleWarning(evaluation, partly.calibration)).toMatch(/^in-sample: 1 of 3 evaluation inputs are/);
    // The default: no --calib calibrates on the evaluation input itself.
    const byDefault = await setUpQuant(ctx, { profile: 'generic-int8' });
    expect(inSampleWarning([ctx], byDefault.calibration)).not.toBeNull();
  });

  it('emit records every evaluation input, the worst, the mean and whether it is in-sample', async () => {
    const ctx = await openModel({ modelPath: MODEL });
    const evaluation = await evaluationContexts(ctx, evals());
    const setup = await setUpQuant(ctx, { profile: 'generic-int8', calib: calib() });
    const out = join(dir, 'emitted', 'model.onnx');
    const result = await emitModel({ ctx, setup, evaluation, out });
    expect(result.warning).toBeNull();
    const manifest = JSON.parse(readFileSync(result.paths.manifest, 'utf8'));
    expect(manifest.evaluation.inSample).toBe(false);
    expect(manifest.evaluation.perInput).toHaveLength(3);
    expect(manifest.evaluation.inputs.map((i: { sha256: string }) => i.sha256)).toEqual(evaluation.map((c) => c.sources[0].sha256));
    const snrs = manifest.evaluation.perInput.map((p: { outputs: { snrDb: number }[] }) => p.outputs[0].snrDb);
    expect(manifest.evaluation.outputs[0].snrDb).toBe(Math.min(...snrs));
    expect(manifest.evaluation.mean[0].snrDb).toBeCloseTo(snrs.reduce((a: number, b: number) => a + b, 0) / snrs.length, 9);
    expect(manifest.calibration.inputs).toHaveLength(2);
  });

  it('the CLI: --eval without --calib calibrates on the evaluation set and warns in-sample; with --calib it does not', async () => {
    const values = evals();
    const plain = await runCliInProcess(['emit', MODEL, '--eval', ...values, '--out', join(dir, 'cli', 'a.onnx'), '-q']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/warning: in-sample: every evaluation input is also a calibration input/);
    expect(plain.stdout).toMatch(/vs float \(worst input\)/);
    const apart = await runCliInProcess([
      'fix',
      MODEL,
      '--eval',
      ...values,
      '--calib',
      ...calib(),
      '--out',
      join(dir, 'cli', 'plan.json'),
      '-q',
    ]);
    expect([0, 1]).toContain(apart.code);
    expect(apart.stdout).toMatch(/evaluation: 3 inputs/);
    expect(apart.stdout).not.toMatch(/in-sample/);
    const missing = await runCliInProcess(['fix', MODEL, '--eval', join(dir, 'no-such-folder'), '-q']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/Evaluation path '.*no-such-folder' does not exist/);
  });
});
