import { rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReportJson } from '../src/store/report-json.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';

/**
 * The advisor's findings at the end of the CLI reports, and the inputs-differ story end to end:
 * the same image run through the float backend once as RGB and once as BGR, then the two dump
 * directories compared.
 */

const root = tempDir('qs-cli-advisor-');
const cache = join(root, 'cache');
const MODEL = join(REPO, 'fixtures', 'opset13-convnet.onnx');
const image = join(root, 'photo.png');

function cli(args: string[]) {
  return runCliInProcess(args, { env: { QUANTSCOPE_CACHE: cache } });
}

/** Runs the float backend on the photo with a preprocessing spec, dumping the input and every tensor (or only the outputs). */
async function floatRun(name: string, preprocess: string, taps: string[] = ['x', '@all']): Promise<string> {
  const out = join(root, name);
  const r = await cli([
    'run',
    MODEL,
    '--backend',
    'float',
    '--input',
    image,
    '--preprocess',
    preprocess,
    ...(taps.length ? ['--taps', ...taps] : []),
    '-o',
    out,
    '-q',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  // Channels that differ, so RGB and BGR are different inputs.
  const pixels = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < 16 * 16; i++) {
    pixels[3 * i] = (i * 7) % 256;
    pixels[3 * i + 1] = (i * 13 + 50) % 256;
    pixels[3 * i + 2] = 255 - i;
  }
  await sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } })
    .png()
    .toFile(image);
});

describe('compare --ref --test of two float runs of the same image', () => {
  it('RGB against BGR: the inputs differ by the channel order, and no layer is blamed', async () => {
    const rgb = await floatRun('rgb', 'order=RGB,scale=1/255');
    const bgr = await floatRun('bgr', 'order=BGR,scale=1/255');
    const json = await cli(['compare', '--ref', rgb, '--test', bgr, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = parseReportJson(json.stdout);
    expect(report.rows[0].tensor).toBe('x');
    expect(report.rows.filter((r) => !r.pass).length).toBeGreaterThan(1);
    expect(report.findings).toHaveLength(1);
    const [f] = report.findings ?? [];
    expect(Object.keys(f)).toEqual(['rule', 'severity', 'tensors', 'message', 'suggestion']);
    expect(f).toMatchObject({ rule: 'inputs-differ', severity: 'error', tensors: ['x'] });
    expect(f.message).toContain('the test input is the reference with its channels reversed (RGB vs BGR)');
    expect(f.message).toContain('blame no layer');
    expect(f.suggestion).toContain('order=RGB or order=BGR');

    const table = await cli(['compare', '--ref', rgb, '--test', bgr, '-q']);
    expect(table.stdout).toMatch(/\nFindings \(1\):\n- \[error\] inputs-differ: Graph input 'x' differs/);
    expect(table.stdout).toContain('  Next: Make the two pipelines preprocess alike');
    const md = await cli(['compare', '--ref', rgb, '--test', bgr, '--format', 'md', '-q']);
    expect(md.stdout).toContain('### Findings');
    expect(md.stdout).toContain('- **error** inputs-differ: Graph input');
  });

  it('RGB against RGB: the inputs are the same, and nothing is found', async () => {
    const a = await floatRun('rgb-a', 'order=RGB');
    const b = await floatRun('rgb-b', 'order=RGB');
    const r = await cli(['compare', '--ref', a, '--test', b, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseReportJson(r.stdout).findings).toEqual([]);
    expect((await cli(['compare', '--ref', a, '--test', b, '-q'])).stdout).not.toContain('Findings');
  });

  it('0..1 against 0..255 without the input dumped: the manifests tell the inputs differ', async () => {
    const unit = await floatRun('unit', 'scale=1/255', []);
    const bytes = await floatRun('bytes', 'scale=1', []);
    const r = await cli(['compare', '--ref', unit, '--test', bytes, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [f] = parseReportJson(r.stdout).findings ?? [];
    expect(f.rule).toBe('inputs-differ');
    expect(f.message).toContain(`was fed differently to the two runs (both from '${image}'`);
    expect(f.suggestion).toContain('--taps x');
  });
});

describe('findings after the bisect and fix reports', () => {
  const fixture = join(REPO, 'fixtures', 'reducemean-overflow.onnx');

  it('bisect prints the fp16 overflow after its probes, and --json carries it', async () => {
    const text = await cli(['bisect', fixture, '--profile', 'int8-fp16', '-q']);
    expect(text.code, text.stderr).toBe(0);
    const tail = text.stdout.slice(text.stdout.indexOf('tap perturbation:'));
    expect(tail).toMatch(/\n\nFindings \(1\):\n- \[error\] fp16-overflow: 'planted_mean_out' \(ReduceMean 'planted_mean'\), run in fp16/);
    const json = JSON.parse((await cli(['bisect', fixture, '--profile', 'int8-fp16', '--json'])).stdout);
    expect(json.findings.map((f: { rule: string }) => f.rule)).toEqual(['fp16-overflow']);
  });

  it('fix prints its findings after the plan', async () => {
    const r = await cli(['fix', fixture, '--profile', 'int8-fp16', '--out', join(root, 'plan.json'), '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plan: .*plan\.json\n\nFindings \(1\):\n- \[error\] fp16-overflow:/);
  });
});
