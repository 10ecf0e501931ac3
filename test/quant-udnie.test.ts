import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { openModel } from '../src/app/context.js';
import type { Tensor } from '../src/core/tensor.js';
import { HAS_SHARED, SHARED, runCache, runCli, tempDir } from './helpers/cli.js';

/** 10·log10(Σx² / Σ(x−y)²), written out here so the check shares no code with quantscope's metrics. */
function handSnrDb(x: Float32Array, y: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < x.length; i++) {
    signal += x[i] * x[i];
    noise += (x[i] - y[i]) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/**
 * The quant backend on a real model: udnie (fast neural style, 720x720, values 0..255),
 * calibrated on three photographs and evaluated on a fourth, through `quantscope emit` (which
 * also verifies each written model). One calibration serves all three plans: the first emit
 * measures the statistics, the others derive their tables from the cached statistics.
 */

const UDNIE = join(SHARED, 'models', 'udnie.onnx');
const IMAGES = join(SHARED, 'images');

if (!HAS_SHARED) console.log(`skipping the udnie quantization test: ${SHARED} is absent`);

describe.skipIf(!HAS_SHARED)('udnie: generic-int8, int8-fp16 and all-INT16 against float', { tags: ['slow'] }, () => {
  it('all-INT16 reaches cosine >= 0.9999 and PSNR >= 70 dB; the INT8 plans lose PSNR', async () => {
    const work = tempDir('qs-udnie-');
    const cache = join(work, 'cache');
    const common = [
      'emit',
      UDNIE,
      '--input',
      join(IMAGES, 'fish_720.png'),
      '--preprocess',
      'size=720x720',
      '--calib',
      join(IMAGES, 'cat.jpg'),
      join(IMAGES, 'dog.jpg'),
      join(IMAGES, 'hummingbird.jpg'),
      '--peak',
      '255',
    ];
    const plans: [string, string[]][] = [
      ['generic-int8', ['--profile', 'generic-int8']],
      ['int8-fp16', ['--profile', 'int8-fp16']],
      ['all-int16', ['--profile', 'generic-int8', '--precision', '*=int16']],
    ];
    const figures: Record<string, { cosine: number; snrDb: number; psnrDb: number }> = {};
    plans.forEach(([name, args], i) => {
      const started = Date.now();
      const r = runCli([...common, ...args, '--out', join(work, `udnie.${name}.onnx`)], {
        env: { QUANTSCOPE_CACHE: cache },
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.includes('reused from the cache'), 'only the first plan measures the calibration statistics').toBe(i > 0);
      const manifest = JSON.parse(readFileSync(join(work, `udnie.${name}.manifest.json`), 'utf8'));
      expect(manifest.verification).toMatchObject({ nodesChecked: 59, precisionMismatches: 0 });
      // Deployable: the emitted model needs no session option (it was opset 7, now converted).
      expect(manifest.runtime.sessionOptions).toEqual({});
      figures[name] = manifest.evaluation.outputs[0];
      const q = JSON.parse(readFileSync(join(work, `udnie.${name}.quant.json`), 'utf8'));
      expect(q.qdqDomain).toBe('com.microsoft');
      console.log(
        `udnie ${name}: cosine ${figures[name].cosine.toFixed(6)}, SNR ${figures[name].snrDb.toFixed(1)} dB, PSNR ${figures[name].psnrDb.toFixed(1)} dB (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    });
    expect(figures['all-int16'].cosine).toBeGreaterThanOrEqual(0.9999);
    expect(figures['all-int16'].psnrDb).toBeGreaterThanOrEqual(70);
    for (const name of ['generic-int8', 'int8-fp16']) {
      // Cosine barely moves on 0..255 images; PSNR shows the INT8 loss.
      expect(figures[name].cosine).toBeGreaterThan(0.999);
      expect(figures[name].psnrDb).toBeGreaterThan(30);
      expect(figures[name].psnrDb).toBeLessThan(figures['all-int16'].psnrDb - 20);
    }
    // A plain onnxruntime session with default options loads each emitted model and reproduces
    // the SNR emit printed (computed here by hand, against the float model in its own session).
    const ctx = await openModel({ modelPath: UDNIE, inputs: [join(IMAGES, 'fish_720.png')], preprocess: 'size=720x720' });
    const x = ctx.feeds.get('inputImage') as Tensor;
    const feeds = { inputImage: new ort.Tensor('float32', x.data as Float32Array, [...x.dims]) };
    const reference = (await (await ort.InferenceSession.create(UDNIE)).run(feeds)).outputImage.data as Float32Array;
    for (const [name] of plans) {
      const session = await ort.InferenceSession.create(join(work, `udnie.${name}.onnx`));
      const y = (await session.run(feeds)).outputImage.data as Float32Array;
      expect(handSnrDb(reference, y)).toBeCloseTo(figures[name].snrDb, 2);
      await session.release();
    }
  }, 120_000);
});

describe.skipIf(!HAS_SHARED)('candy: the emitted model loads in a default onnxruntime session', { tags: ['slow'] }, () => {
  it('generic-int8 and all-INT16, calibrated on cat and dog: loads with default options and reproduces the SNR emit recorded', async () => {
    const CANDY = join(SHARED, 'models', 'candy.onnx');
    const work = tempDir('qs-candy-');
    // The run's calibration cache: candy on cat and dog as app-check calibrates it.
    const cache = runCache();
    const ctx = await openModel({ modelPath: CANDY, inputs: [join(IMAGES, 'fish_720.png')], preprocess: 'size=720x720' });
    const x = ctx.feeds.get('inputImage') as Tensor;
    const feeds = { inputImage: new ort.Tensor('float32', x.data as Float32Array, [...x.dims]) };
    const reference = (await (await ort.InferenceSession.create(CANDY)).run(feeds)).outputImage.data as Float32Array;
    const snr: number[] = [];
    for (const extra of [[], ['--precision', '*=int16']]) {
      const out = join(work, `candy-${extra.length}.onnx`);
      const r = runCli(
        [
          'emit',
          CANDY,
          '--input',
          join(IMAGES, 'fish_720.png'),
          '--preprocess',
          'size=720x720',
          '--calib',
          join(IMAGES, 'cat.jpg'),
          join(IMAGES, 'dog.jpg'),
          '--out',
          out,
          '-q',
          ...extra,
        ],
        { env: { QUANTSCOPE_CACHE: cache }, timeoutMs: 60_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(out.replace(/\.onnx$/, '.manifest.json'), 'utf8'));
      expect(manifest.runtime.sessionOptions).toEqual({});
      const session = await ort.InferenceSession.create(out);
      const y = (await session.run(feeds)).outputImage.data as Float32Array;
      await session.release();
      expect(handSnrDb(reference, y)).toBeCloseTo(manifest.evaluation.outputs[0].snrDb, 2);
      snr.push(handSnrDb(reference, y));
    }
    expect(snr[1]).toBeGreaterThan(snr[0] + 20);
  }, 120_000);
});
