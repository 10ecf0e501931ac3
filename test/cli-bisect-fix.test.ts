import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';

const fixture = (name: string): string => join(REPO, 'fixtures', `${name}.onnx`);

describe('quantscope bisect', () => {
  it('--json names the planted node with the fields scripts rely on', async () => {
    const r = await runCliInProcess(['bisect', fixture('outlier-channel'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.culprit).toMatchObject({ node: 'planted_conv', opType: 'Conv', tensor: 'y' });
    expect(json.inputs).toEqual([expect.objectContaining({ tensor: 'outlier_conv_out', pass: true })]);
    expect(json.inputs[0].metrics.cosine).toBeGreaterThan(0.99);
    expect(json.output.metrics.cosine).toBeLessThan(0.5);
    expect(json.probes).toHaveLength(2);
    expect(json).toMatchObject({ quantRuns: 3, candidates: 2, runBudget: 3, monotone: true });
  });

  it('reports monotone: false on the non-monotone fixture, and still names the planted node', async () => {
    const r = await runCliInProcess(['bisect', fixture('non-monotone'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.culprit.node).toBe('planted_nonmono');
    expect(json.monotone).toBe(false);
  });

  it('prints the culprit, its inputs, the probes and the tap perturbation', async () => {
    const r = await runCliInProcess(['bisect', fixture('reducemean-overflow'), '--profile', 'int8-fp16', '--metric', 'cosine']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^output 'y' \(cosine 0\.9687\d+\) fails cosine >= 0\.99 under int8-fp16$/m);
    expect(r.stdout).toMatch(/^culprit: planted_mean \(ReduceMean, fp16\) -> 'planted_mean_out': cosine NaN, 2 NaN\/Inf$/m);
    expect(r.stdout).toMatch(/^ {2}input 'offset_out': cosine \S+ pass$/m);
    expect(r.stdout).toContain('probes (6 candidates; 5 quant runs, budget 5):');
    expect(r.stdout).toMatch(/^tap perturbation: 'y' cosine/m);
  });

  it('says so and exits 0 when the output passes', async () => {
    const r = await runCliInProcess(['bisect', fixture('outlier-channel'), '--metric', 'cosine', '--threshold', '0.1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/passes cosine >= 0\.1 under generic-int8: nothing to bisect \(1 quant run\)/);
  });

  it.each([
    { args: ['--output', 'nope'], message: /--output 'nope' is not a graph output; the outputs are 'y'\./ },
    { args: ['--metric', 'psnr'], message: /--metric psnrDb needs a --threshold/ },
  ])('bad input $args: exit 2 and one sentence', async ({ args, message }) => {
    const r = await runCliInProcess(['bisect', fixture('outlier-channel'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('quantscope fix', () => {
  it('--json: promotes the planted region, writes the plan and the verified model', async () => {
    const dir = tempDir();
    const plan = join(dir, 'plan.json');
    const model = join(dir, 'fixed.onnx');
    const r = await runCliInProcess(['fix', fixture('concat-ranges'), '--out', plan, '--emit', model, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    // The default target: the default gate at the outputs.
    expect(json).toMatchObject({
      met: true,
      target: 'snrDb>=30,psnrDb>=40',
      peak: null,
      promoted: ['concat_consumer'],
      plan,
      quantRuns: 6,
    });
    expect(json.outputs[0].metrics.snrDb).toBeGreaterThanOrEqual(30);
    expect(json.outputs[0].metrics.psnrDb).toBeGreaterThanOrEqual(40);
    expect(json.cost.macShareAboveInt8).toBeGreaterThan(0);
    expect(json.cost.macShareAboveInt8).toBeLessThan(1);
    expect(JSON.parse(readFileSync(plan, 'utf8'))).toEqual({ profile: 'generic-int8', overrides: { concat_consumer: 'a16w8' } });
    expect(json.emitted).toMatchObject({ model, outputsIdentical: true });
    for (const f of [model, join(dir, 'fixed.quant.json'), join(dir, 'fixed.manifest.json')]) expect(existsSync(f)).toBe(true);

    // The plan file feeds back into the other commands: bisect finds nothing to do under it.
    const again = await runCliInProcess(['bisect', fixture('concat-ranges'), '--plan', plan, '--threshold', '0.999', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).culprit).toBeNull();
  });

  it('with --emit and no --out, writes the plan beside the model, not under the working directory, and names every file', async () => {
    const cwd = tempDir('qs-fix-cwd-');
    const r = await runCliInProcess(['fix', fixture('concat-ranges'), '--emit', join('out', 'fixed.onnx')], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual(['out']);
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual(['fixed.manifest.json', 'fixed.onnx', 'fixed.plan.json', 'fixed.quant.json']);
    expect(JSON.parse(readFileSync(join(cwd, 'out', 'fixed.plan.json'), 'utf8'))).toMatchObject({ profile: 'generic-int8' });
    expect(r.stdout).toContain(`plan: ${join('out', 'fixed.plan.json')}\n`);
    expect(r.stdout).toContain(
      `emitted and verified: ${join('out', 'fixed.onnx')} (+ ${join('out', 'fixed.quant.json')}, ${join('out', 'fixed.manifest.json')})`,
    );
    // Without --emit the plan's default stays dumps/<model>.fix-plan.json.
    const plain = await runCliInProcess(['fix', fixture('concat-ranges'), '--json'], { cwd });
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).plan).toBe(join('dumps', 'concat-ranges.fix-plan.json'));
    expect(existsSync(join(cwd, 'dumps', 'concat-ranges.fix-plan.json'))).toBe(true);
  });

  it('takes a target on any metric, here the fp16 overflow fixed by FP32', async () => {
    const dir = tempDir();
    const r = await runCliInProcess([
      'fix',
      fixture('reducemean-overflow'),
      '--profile',
      'int8-fp16',
      '--target',
      'snr>=25',
      '--out',
      join(dir, 'p.json'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^target snrDb>=25 \(int8-fp16, strategy bisect\): met with 1 promotion\(s\); \d+ quant runs in \d+\.\d s$/m);
    expect(r.stdout).toMatch(/^ {2}planted_mean \(ReduceMean\) fp16->fp32 {2}\[culprit\]$/m);
    expect(r.stdout).toMatch(/^cost: 0\.0% of MACs/m);
  });

  it('exits 1 when the budget runs out before the target is met', async () => {
    const dir = tempDir();
    const r = await runCliInProcess(['fix', fixture('outlier-channel'), '--max-promotions', '1', '--out', join(dir, 'p.json')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('NOT met (the promotion budget is spent)');
    expect(existsSync(join(dir, 'p.json'))).toBe(true);
  });

  it.each([
    { args: ['--target', 'cosine=0.9'], message: /The --target 'cosine=0\.9' is not of the form METRIC>=VALUE/ },
    { args: ['--target', 'cosin>=0.9'], message: /names no known metric 'cosin'; did you mean cosine/ },
    { args: ['--emit', 'model.txt'], message: /--emit 'model\.txt' must name an \.onnx file/ },
  ])('bad input $args: exit 2 and one sentence', async ({ args, message }) => {
    const r = await runCliInProcess(['fix', fixture('outlier-channel'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
