import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareModel, compareTaps, type CompareOptions } from '../src/app/compare/compare.js';
import { criterionOf, imagePlotPath, perturbationOf } from '../src/app/compare/compare-report.js';
import { openModel, type ModelContext } from '../src/app/context.js';
import type { ProgressEvent } from '../src/app/events.js';
import { setUpQuant, type QuantSetup } from '../src/app/quant-setup.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { CancelledError, UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { scaleOutputChannels } from '../src/models/weight-edits.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { readManifest } from '../src/store/manifest.js';
import { depthPlotSvg } from '../src/store/report-plot.js';
import { parseReportJson } from '../src/store/report-json.js';
import { isolatedCache } from './helpers/cli.js';

const root = isolatedCache('qs-compare-');

async function setup(model: string, profile = 'generic-int8'): Promise<{ ctx: ModelContext; quant: QuantSetup }> {
  const ctx = await openModel({ modelPath: model });
  return { ctx, quant: await setUpQuant(ctx, { profile }) };
}

/**
 * One Conv whose output channel 1 is a thousand times smaller than channels 0, 2 and 3 (weights
 * and bias scaled). Its output is stored with one per-tensor INT8 scale, so channel 1 rounds to
 * almost nothing while the tensor as a whole barely moves.
 */
function writeCrushedChannelModel(file: string): void {
  const b = new GraphBuilder({ name: 'crushed-channel', opset: 13, irVersion: 7, seed: 5 });
  const x = b.input('x', [1, 3, 8, 8]);
  b.output(
    b.conv(x, 4, 3, {
      pad: 1,
      name: 'crushing_conv',
      out: 'y',
      editWeights: scaleOutputChannels({ 1: 1e-3 }),
      editBias: scaleOutputChannels({ 1: 1e-3 }),
    }),
  );
  writeModel(createModel(b.build()), file);
}

describe('compare on the planted-source fixture', () => {
  it('names the planted node as the worst source and labels the nodes after it as following', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    const events: ProgressEvent[] = [];
    const result = await compareModel({ ctx, quant, onProgress: (e) => events.push(e) });
    const { report } = result;
    expect(report.rows.map((r) => r.node)).toEqual(['conv_a', 'relu_a', 'spike', 'planted_source', 'relu_b', 'conv_c', 'relu_c', 'conv_d']);
    expect(report.worstSource).toBe('planted_source_out');
    expect(report.firstFailing).toBe('planted_source_out');
    const verdicts = Object.fromEntries(report.rows.map((r) => [r.node, r.verdict]));
    expect(verdicts.planted_source).toBe('source');
    for (const after of ['relu_b', 'conv_c', 'relu_c', 'conv_d']) expect(verdicts[after]).toBe('follows');
    expect(report.rows.filter((r) => r.verdict === 'source').map((r) => r.node)).toEqual(['planted_source']);
    // Float ops at fp32 have no own error; quantized kernels reading exact inputs have the accumulated one.
    const byNode = new Map(report.rows.map((r) => [r.node, r]));
    expect(byNode.get('relu_b')?.own?.snrDb).toBe(Infinity);
    expect(byNode.get('conv_a')?.own?.cosine).toBeCloseTo(byNode.get('conv_a')?.metrics?.cosine as number, 6);
    expect(result.gatePasses).toBe(false);
    expect(report.outputs).toEqual(['y']);
    expect(report.perturbation?.output).toBe('y');
    expect(report.achievable?.label).toBe('INT16 plan');
    expect(report.achievable?.value).toBeGreaterThan(report.rows[7].metrics?.cosine as number);
    expect(events.filter((e) => e.type === 'progress' && e.stage === 'compare')).toHaveLength(result.groups);
  });
});

describe("compare on a channel crushed by the others' range", () => {
  const model = join(root, 'crushed-channel.onnx');
  beforeAll(() => writeCrushedChannelModel(model));

  it('passes on tensor cosine while worstChannelCosine fails and names channel 1', async () => {
    const { ctx, quant } = await setup(model);
    const { report } = await compareModel({ ctx, quant, own: false, achievable: false });
    const y = report.rows.find((r) => r.tensor === 'y');
    expect(y?.metrics?.cosine).toBeGreaterThanOrEqual(0.99);
    expect(y?.pass).toBe(true);
    expect(y?.metrics?.worstChannelCosine).toBeLessThan(0.99);
    expect(y?.metrics?.worstChannel).toBe(1);

    const strict = await compareModel({ ctx, quant, metric: 'worstChannelCosine', own: false, achievable: false });
    const row = strict.report.rows.find((r) => r.tensor === 'y');
    expect(row?.pass).toBe(false);
    expect(strict.report.firstFailing).toBe('y');
    expect(strict.gatePasses).toBe(false);
  });
});

describe('memory-bounded groups', () => {
  it('give the same metrics as one group, one progress event per group', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    const one = await compareModel({ ctx, quant, achievable: false });
    const events: ProgressEvent[] = [];
    // Each [1,4,16,16] float tensor is 4 KB and counts twice (8 KB); the input and the output held
    // twice take 10 KB beside every group, so 18 KB holds one tap per group, and the output tap,
    // held anyway, joins the last one: 7 groups.
    const many = await compareModel({ ctx, quant, achievable: false, maxMemory: 18 * 1024, onProgress: (e) => events.push(e) });
    expect(one.groups).toBe(1);
    expect(many.groups).toBe(7);
    expect(events.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.done : 0))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(many.report.rows.map((r) => [r.tensor, r.metrics?.cosine, r.own?.cosine, r.verdict])).toEqual(
      one.report.rows.map((r) => [r.tensor, r.metrics?.cosine, r.own?.cosine, r.verdict]),
    );
  });
});

describe('run directory, report.json and cancellation', () => {
  it('writes float and quant tensors, a complete manifest and report.json', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    const outDir = join(root, 'run-complete');
    const result = await compareModel({ ctx, quant, outDir, achievable: false });
    expect(result.outDir).toBe(outDir);
    const manifest = readManifest(outDir);
    expect(manifest.status).toBe('complete');
    expect(manifest.tensors).toHaveLength(16);
    expect(readdirSync(join(outDir, 'float'))).toHaveLength(8);
    expect(readdirSync(join(outDir, 'quant'))).toHaveLength(8);
    const saved = parseReportJson(readFileSync(join(outDir, 'report.json'), 'utf8'));
    expect(saved.rows.map((r) => [r.tensor, r.verdict])).toEqual(result.report.rows.map((r) => [r.tensor, r.verdict]));
    expect(saved.worstSource).toBe('planted_source_out');
  });

  it('an interrupted compare leaves an incomplete manifest and no report', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    const outDir = join(root, 'run-cancelled');
    const controller = new AbortController();
    const options: CompareOptions = {
      ctx,
      quant,
      outDir,
      maxMemory: 18 * 1024,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'progress' && e.done === 2) controller.abort();
      },
    };
    await expect(compareModel(options)).rejects.toBeInstanceOf(CancelledError);
    const manifest = readManifest(outDir);
    expect(manifest.status).toBe('incomplete');
    expect(manifest.tensors.map((t) => t.name)).toEqual(['conv_a_out', 'conv_a_out', 'relu_a_out', 'relu_a_out']);
    expect(existsSync(join(outDir, 'report.json'))).toBe(false);
  });
});

describe('plots', () => {
  it('writes the depth plot and the image comparison of an image-like output, with labelled axes and a legend', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    const plot = join(root, 'plots', 'depth.png');
    const result = await compareModel({ ctx, quant, plot, achievable: false });
    expect(result.plots).toEqual([plot, imagePlotPath(plot, 'y')]);
    for (const file of result.plots) {
      const meta = await sharp(file).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(300);
    }
    const svg = depthPlotSvg(result.report);
    for (const label of ['topological index', '>cosine<', '>SNR dB<', '>pass<', '>fail<', '>own error<', '>threshold<'])
      expect(svg).toContain(label);
  });

  it('refuses a plot path that is not a .png before running anything', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    await expect(compareModel({ ctx, quant, plot: join(root, 'plot.jpg') })).rejects.toThrow(/--plot .* must name a \.png file/);
  });
});

describe('taps, perturbation and options', () => {
  it('always compares the outputs; with the outputs alone there is no perturbation', async () => {
    const { ctx, quant } = await setup('fixtures/planted-source.onnx');
    expect(compareTaps(ctx, ['conv_c'])).toEqual(['conv_c_out', 'y']);
    const { report } = await compareModel({ ctx, quant, taps: ['@outputs'], own: false, achievable: false });
    expect(report.rows.map((r) => r.tensor)).toEqual(['y']);
    expect(report.rows[0].own).toBeUndefined();
    expect(report.perturbation?.withTaps).toBe(report.perturbation?.withoutTaps);
    expect(report.achievable).toBeUndefined();
  });

  it('the perturbation reports the output whose metric the taps moved most', () => {
    const f = (v: number[]) => makeTensor('float32', [v.length], Float32Array.from(v));
    const x = computeMetrics(f([1, 2]), f([1, 2]));
    const y = computeMetrics(f([1, 2]), f([2, 1]));
    expect(
      perturbationOf('cosine', [
        { output: 'a', withTaps: x, withoutTaps: x },
        { output: 'b', withTaps: y, withoutTaps: x },
      ]),
    ).toEqual({ output: 'b', metric: 'cosine', withTaps: 0.8, withoutTaps: 1 });
    expect(perturbationOf('cosine', [])).toBeNull();
  });

  it.each([
    // The default gate: tensors at SNR 30 dB, outputs also at PSNR 40 dB (peak max |x|).
    [
      undefined,
      undefined,
      {
        metric: 'snrDb',
        threshold: 30,
        outputs: {
          targets: [
            { metric: 'snrDb', op: '>=', value: 30 },
            { metric: 'psnrDb', op: '>=', value: 40 },
          ],
          peak: null,
        },
      },
    ],
    [
      undefined,
      25,
      {
        metric: 'snrDb',
        threshold: 25,
        outputs: {
          targets: [
            { metric: 'snrDb', op: '>=', value: 25 },
            { metric: 'psnrDb', op: '>=', value: 40 },
          ],
          peak: null,
        },
      },
    ],
    ['snr', 30, { metric: 'snrDb', threshold: 30, outputs: null }],
    ['snr', undefined, { metric: 'snrDb', threshold: 30, outputs: null }],
    ['cosine', undefined, { metric: 'cosine', threshold: 0.99, outputs: null }],
    ['worstChannelCosine', undefined, { metric: 'worstChannelCosine', threshold: 0.99, outputs: null }],
  ] as const)('criterion %s %s', (metric, threshold, want) => {
    expect(criterionOf(metric, threshold)).toEqual(want);
  });

  it.each([
    ['cosin', undefined, /--metric 'cosin' is not a metric/],
    ['mse', undefined, /--metric mse needs a --threshold/],
    ['cosine', Number.NaN, /--threshold must be a finite number/],
  ] as const)('criterion %s %s is a usage error', (metric, threshold, message) => {
    expect(() => criterionOf(metric, threshold)).toThrow(UserError);
    expect(() => criterionOf(metric, threshold)).toThrow(message);
  });
});
