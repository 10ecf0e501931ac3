import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMetric } from '../src/analysis/metrics.js';
import { DEMO_HAZARD_NODE } from '../src/models/demo-generator.js';
import { runCli, tempDir } from './helpers/cli.js';

describe('quantscope demo', { tags: ['slow'] }, () => {
  it('tells the whole story in under a minute: INT8 fails, the table shows where, bisect names the hazard, fix promotes it, the model is emitted', () => {
    const cwd = tempDir('qs-demo-');
    const started = Date.now();
    const r = runCli(['demo', '--json'], { cwd, timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(seconds).toBeLessThan(60);
    const json = JSON.parse(r.stdout);
    expect(json.bisect.output.pass).toBe(false);
    expect(json.comparison.firstFailing).toBe('fuse_conv_out');
    expect(json.bisect.culprit.node).toBe(DEMO_HAZARD_NODE);
    expect(json.bisect.quantRuns).toBeLessThanOrEqual(json.bisect.runBudget);
    // The planted hazard is promoted first; the default gate (PSNR >= 40 dB at the output) takes more.
    expect(json.fix).toMatchObject({ met: true, target: 'snrDb>=30,psnrDb>=40' });
    expect(json.fix.promoted[0]).toBe(DEMO_HAZARD_NODE);
    expect(json.comparison.worstSource).toBe('fuse_conv_out');
    expect(json.comparison.rows.find((row: { tensor: string }) => row.tensor === 'fuse_conv_out').verdict).toBe('source');
    expect(json.hazard).toEqual({ node: DEMO_HAZARD_NODE, namedByBisect: true, promotedByFix: true });
    // Emitted into models/ under the working directory, and verified.
    expect(json.fix.emitted).toMatchObject({ model: join('models', 'demo-generator.mixed.onnx'), outputsIdentical: true });
    expect(existsSync(join(cwd, 'models', 'demo-generator.mixed.onnx'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(cwd, 'models', 'demo-generator.mixed.manifest.json'), 'utf8'));
    expect(manifest).toBeTruthy();
    expect(existsSync(join(cwd, json.fix.plan))).toBe(true);
  }, 90_000);

  it('--out DIR writes every file there and nothing in the working directory; --json lists them', () => {
    const cwd = tempDir('qs-demo-cwd-');
    const r = runCli(['demo', '--out', 'demo-files', '--json'], { cwd, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    const files = [
      'demo-generator.fix-plan.json',
      'demo-generator.mixed.onnx',
      'demo-generator.mixed.quant.json',
      'demo-generator.mixed.manifest.json',
    ];
    expect(json.files).toEqual(files.map((f) => join('demo-files', f)));
    expect(json.fix.plan).toBe(join('demo-files', 'demo-generator.fix-plan.json'));
    expect(readdirSync(cwd)).toEqual(['demo-files']);
    expect(readdirSync(join(cwd, 'demo-files')).sort()).toEqual([...files].sort());
  }, 90_000);

  it('is what a plain `quantscope` runs when stdin is not a terminal; its figures are the measured ones', () => {
    const cwd = tempDir('qs-demo-');
    const r = runCli([], { cwd, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^quantscope demo: .*demo-generator\.onnx \(generic-int8, target snrDb>=30,psnrDb>=40\)$/);
    expect(r.stdout).toMatch(
      /^1\. INT8 plan: output 'image' misses snrDb>=30,psnrDb>=40:\n {3}cosine 0\.\d{6}, SNR .* \(INT16 plan: snrDb \d+\.\d\d\)$/m,
    );
    expect(r.stdout).toMatch(/^2\. Per layer: \d+ tensors, \d+ fail snrDb >= 30; first \(<\): 'fuse_conv_out'$/m);
    expect(r.stdout).toMatch(/│ 17 │ fuse_conv +│ Conv +│ 0\.\d{6} │ .* │ source +│ FAIL< │/);
    expect(r.stdout).toMatch(
      /^3\. Bisect: culprit fuse_conv \(Conv\), snrDb 2\d\.\d\d;\n {3}its input 'branch_concat_out' passes \(snrDb 3\d\.\d\d\)\.$/m,
    );
    expect(r.stdout).toMatch(/^4\. Fix: target met by promoting \d+ nodes \(\d+ quant runs\):\n {3}fuse_conv int8->int16, /m);
    expect(r.stdout).toMatch(/^5\. Emit: read back \d+ nodes as planned, outputs equal to the quant backend's\.$/m);
    // Every file written, named, under the working directory by default.
    expect(r.stdout).toMatch(
      /^Wrote\n {2}dumps\/demo-generator\.fix-plan\.json\n {2}models\/demo-generator\.mixed\.onnx\n {2}models\/demo-generator\.mixed\.quant\.json\n {2}models\/demo-generator\.mixed\.manifest\.json$/m,
    );
    expect(r.stdout).toContain("documented hazard 'fuse_conv': named by bisect, promoted by fix");
    // Every line fits an 80-column terminal.
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
    // The summary's numbers are those of a machine-readable run.
    const json = JSON.parse(runCli(['demo', '--json', '--emit-dir', tempDir()], { cwd }).stdout);
    const before = formatMetric('cosine', json.fix.before[0].metrics.cosine);
    const after = formatMetric('cosine', json.fix.outputs[0].metrics.cosine);
    expect(r.stdout).toMatch(new RegExp(`^ {2}'image' INT8: {2}cosine ${before}, .*\\n {2}'image' fixed: cosine ${after}, `, 'm'));
    expect(lines.length).toBeLessThan(45);
  }, 120_000);
});
