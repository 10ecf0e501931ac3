import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/analysis/advisor.js';
import { bisect } from '../src/app/bisect/bisect.js';
import { compareModel } from '../src/app/compare/compare.js';
import { openModel, type ModelInputOptions } from '../src/app/context.js';
import { fix } from '../src/app/fix.js';
import { setUpQuant, type QuantSetupOptions } from '../src/app/quant-setup.js';
import { REPO, isolatedCache } from './helpers/cli.js';

/**
 * The advisor on real runs of the planted fixtures and the demo model: each planted fault gives
 * its finding, naming the planted tensors and the numbers of the run, and a clean model gives none.
 */

const dir = isolatedCache('qs-advisor-');

const model = (name: string): string => join(REPO, name.startsWith('demo') ? 'models' : 'fixtures', `${name}.onnx`);

async function setup(name: string, quant: QuantSetupOptions = {}, inputs: Omit<ModelInputOptions, 'modelPath'> = {}) {
  const ctx = await openModel({ modelPath: model(name), ...inputs });
  return { ctx, quant: await setUpQuant(ctx, quant) };
}

async function compareFindings(
  name: string,
  quant: QuantSetupOptions = {},
  inputs: Omit<ModelInputOptions, 'modelPath'> = {},
): Promise<Finding[]> {
  const { report } = await compareModel({ ...(await setup(name, quant, inputs)), achievable: false });
  return [...(report.findings ?? [])];
}

function only(findings: readonly Finding[], rule: Finding['rule']): Finding {
  const hits = findings.filter((f) => f.rule === rule);
  expect(hits, JSON.stringify(findings, null, 1)).toHaveLength(1);
  return hits[0];
}

/** 16x16 RGB PNGs: one bright gradient, and dark ones (values 0..8) to calibrate on. */
async function writeImages(): Promise<{ bright: string; dark: string[] }> {
  const png = async (file: string, value: (i: number) => number) => {
    const buf = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < buf.length; i++) buf[i] = value(i);
    await sharp(buf, { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toFile(file);
    return file;
  };
  return {
    bright: await png(join(dir, 'bright.png'), (i) => (i * 37) % 256),
    dark: [await png(join(dir, 'dark0.png'), (i) => (i * 3) % 9), await png(join(dir, 'dark1.png'), (i) => (i * 4) % 9)],
  };
}

describe('compare findings on the planted fixtures', () => {
  it('outlier-channel: names the crushed channel, channel 0 owning the range and the consumer', async () => {
    const findings = await compareFindings('outlier-channel');
    const f = only(findings, 'outlier-channel');
    expect(f.tensors).toEqual(['outlier_conv_out']);
    expect(f.message).toMatch(
      /'outlier_conv_out' \(Conv 'outlier_conv'\) has a tensor-wide cosine of 0\.99\d+, but its channel [123] reaches only 0\.0/,
    );
    expect(f.message).toMatch(/Its own channel 0 peaks at 1\.78e\+5 while the median channel peaks at [\d.]+ \(\d+(\.\d+)?x\)/);
    expect(f.suggestion).toContain('--precision planted_conv=int16');
  });

  it('reducemean-overflow (int8-fp16): the fp16 running sum of the planted mean, and FP32 for it', async () => {
    const findings = await compareFindings('reducemean-overflow', { profile: 'int8-fp16' });
    const f = only(findings, 'fp16-overflow');
    expect(f.tensors[0]).toBe('planted_mean_out');
    expect(f.message).toContain('holds 2 Inf/NaN value(s)');
    expect(f.message).toContain('the running sum of 4096 elements of about 40 reaches about 1.64e+5, past 65504');
    expect(f.suggestion).toContain('--precision planted_mean=fp32');
    // The overflow explains the planted mean; it is not also called a source.
    expect(findings.filter((x) => x.rule === 'source-amplifier').flatMap((x) => x.tensors)).not.toContain('planted_mean_out');
  });

  it('reducemean-overflow (int8-fp16): fp16Overflow counts the values that overflowed, not 0 beside a column of Inf', async () => {
    const { report } = await compareModel({ ...(await setup('reducemean-overflow', { profile: 'int8-fp16' })), achievable: false });
    const overflowed = report.rows.filter((r) => (r.metrics?.infTest ?? 0) > 0);
    expect(overflowed.map((r) => r.tensor)).toEqual(expect.arrayContaining(['planted_mean_out']));
    for (const r of overflowed) expect([r.tensor, r.metrics?.fp16Overflow]).toEqual([r.tensor, r.metrics?.nonFiniteIntroduced]);
  });

  it('planted-source: the planted node is where the error starts, and the spike channel owns the range', async () => {
    const f = only(await compareFindings('planted-source'), 'source-amplifier');
    expect(f.tensors[0]).toBe('planted_source_out');
    expect(f.message).toMatch(
      /The error starts at 'planted_source_out' \(Conv 'planted_source'\): its own error is snrDb -?\d+\.\d+ dB with float inputs/,
    );
    expect(f.message).toMatch(/Its input 'spike_out' has channel 3 peaking at 2646/);
    expect(f.suggestion).toContain('--precision planted_source=int16');
  });

  it('the demo model (default gate): fuse_conv is the source, the style channel owns its input range, and fuse_norm amplifies the damage', async () => {
    const findings = await compareFindings('demo-generator');
    expect(findings.map((f) => f.rule)).toEqual(['outlier-channel', 'source-amplifier']);
    const [outlier, amplifier] = findings;
    expect(outlier.tensors).toEqual(['fuse_conv_out', 'branch_concat_out']);
    expect(outlier.message).toMatch(
      /Its input 'branch_concat_out' has channel 21 peaking at 944\.\d while the median channel peaks at 2\.\d+ \(3\d\d\.\dx\)/,
    );
    expect(outlier.suggestion).toContain('--precision fuse_conv=int16');
    expect(amplifier.tensors).toEqual(['fuse_conv_out', 'fuse_norm_out']);
    expect(amplifier.message).toMatch(/^The error starts at 'fuse_conv_out' \(Conv 'fuse_conv'\)/);
    expect(amplifier.message).toMatch(
      /'fuse_norm_out' \(InstanceNormalization 'fuse_norm'\) amplifies the error it receives: .* at its input 'fuse_conv_out': the error power grows by \d+\.\d+ dB here/,
    );
  });

  it('calibration on dark images, evaluation on a bright one: calibration mismatch', async () => {
    const images = await writeImages();
    const findings = await compareFindings('opset13-convnet', { calib: images.dark }, { inputs: [images.bright] });
    const f = only(findings, 'calibration-mismatch');
    expect(f.message).toMatch(/On these inputs (\d+) of \1 calibrated tensors \(100%\) reach far beyond the ranges seen in calibration/);
    expect(f.message).toContain("percentile 99.99 calibration on 2 input(s) ('dark0.png' and 'dark1.png')");
  });

  it('is quiet on a model whose quantization is fine (opset13-convnet on its own inputs)', async () => {
    expect(await compareFindings('opset13-convnet')).toEqual([]);
  });
});

describe('bisect and fix findings', () => {
  it('bisect on the demo model (default gate): the planted Conv is the culprit, and its crushed channel shows', async () => {
    const report = await bisect(await setup('demo-generator'));
    expect(report.culprit?.node).toBe('fuse_conv');
    expect(report.findings.map((f) => f.rule)).toEqual(['outlier-channel', 'source-amplifier']);
    expect(report.findings[1].message).toMatch(
      /The error starts at 'fuse_conv_out' \(Conv 'fuse_conv'\), run at int8: it fails at snrDb 2\d\.\d+ dB while its input 'branch_concat_out' \(snrDb 3\d\.\d+ dB\) passes/,
    );
    expect(report.findings[0].suggestion).toContain('--precision fuse_conv=int16');
  });

  it('bisect on the demo model at cosine >= 0.99: the fp32 culprit amplifies, and its input shows the crushed channel', async () => {
    const report = await bisect({ ...(await setup('demo-generator')), metric: 'cosine' });
    expect(report.culprit?.node).toBe('fuse_norm');
    expect(report.findings.map((f) => f.rule)).toEqual(['outlier-channel', 'source-amplifier']);
    expect(report.findings[1].message).toMatch(
      /'fuse_norm_out' \(InstanceNormalization 'fuse_norm'\) runs in fp32 and computes exactly, yet fails at cosine 0\.6\d+ while its input 'fuse_conv_out' \(cosine 0\.99\d+\) passes/,
    );
    expect(report.findings[0].suggestion).toContain('--precision fuse_conv=int16');
  });

  it('fix on the reducemean fixture: the overflow it fixed, without pointing back at fix', async () => {
    const report = await fix({ ...(await setup('reducemean-overflow', { profile: 'int8-fp16' })), planOut: join(dir, 'rm.plan.json') });
    expect(report.met).toBe(true);
    const f = only(report.findings, 'fp16-overflow');
    expect(f.suggestion).toContain('--precision planted_mean=fp32');
    expect(f.suggestion).not.toContain('quantscope fix');
  });
});

describe('one non-finite pixel in the input', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Inf', Infinity],
  ])('a %s pixel: calibration skips it with a warning, compare runs and names where the reference stops being finite', async (_, value) => {
    const { writeNpy } = await import('../src/store/npy.js');
    const { makeTensor } = await import('../src/core/tensor.js');
    const files = ['content', 'style'].map((name, k) => {
      const data = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => ((i * (17 + k)) % 101) / 101);
      if (name === 'content') data[1 * 64 * 64 + 10 * 64 + 10] = value;
      const file = join(dir, `${name}-${String(value)}.npy`);
      writeNpy(file, makeTensor('float32', [1, 3, 64, 64], data), { fsync: false });
      return `${name}=${file}`;
    });
    const logs: string[] = [];
    const ctx = await openModel({ modelPath: model('demo-generator'), inputs: files });
    const quant = await setUpQuant(ctx, {}, (e) => {
      if (e.type === 'log') logs.push(e.message);
    });
    const { report } = await compareModel({ ctx, quant, achievable: false });
    expect(logs.join('\n')).toMatch(/calibration skipped \d+ NaN\/Inf value\(s\) in \d+ tensor\(s\)/);
    const f = only([...(report.findings ?? [])], 'reference-non-finite');
    expect(f.severity).toBe('error');
    expect(f.tensors[0]).toBe('content_center_out');
    // Nothing the reference leaves unmeasured passes or reads as exact.
    for (const r of report.rows.filter((x) => x.metrics && x.metrics.count > 0 && x.metrics.compared === 0)) {
      expect([r.tensor, r.pass, r.metrics?.cosine]).toEqual([r.tensor, false, Number.NaN]);
    }
    expect(report.rows.some((r) => r.metrics && r.metrics.compared === 0)).toBe(true);
  });
});
