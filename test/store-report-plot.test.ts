import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { firstFailing, rowPasses, type ComparisonReport, type ComparisonRow } from '../src/analysis/comparison.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { heatColour, imageScale, isImageLike } from '../src/store/report-image.js';
import { depthPlotSvg, writeDepthPlot, writeImageComparison } from '../src/store/report-plot.js';
import { niceTicks, xmlText } from '../src/store/report-svg.js';

const dir = mkdtempSync(join(tmpdir(), 'quantscope-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (values: number[]) => makeTensor('float32', [values.length], Float32Array.from(values));

function report(n: number, names: (i: number) => string = (i) => `t${i}`): ComparisonReport {
  const rows: ComparisonRow[] = [];
  for (let i = 0; i < n; i++) {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const y = x.map((v, k) => v + (k % 2 ? 1 : -1) * i * 0.05);
    const metrics = computeMetrics(f32(x), f32(y));
    rows.push({
      tensor: names(i),
      node: `n${i}`,
      opType: 'Conv',
      index: i * 2,
      shape: [8],
      dtype: 'float32',
      metrics,
      pass: rowPasses(metrics, 'cosine', 0.999),
    });
  }
  return {
    schemaVersion: 1,
    model: 'toy.onnx',
    metric: 'cosine',
    threshold: 0.999,
    rows,
    firstFailing: firstFailing(rows),
    worstSource: null,
    outputs: [],
  };
}

async function pixel(path: string, x: number, y: number): Promise<number[]> {
  const { data } = await sharp(path)
    .extract({ left: x, top: y, width: 1, height: 1 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [...data];
}

describe('writeDepthPlot', () => {
  it('writes a PNG of the requested size and leaves no temporary file', async () => {
    const path = join(dir, 'depth.png');
    await writeDepthPlot(path, report(30));
    const meta = await sharp(path).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1100, 760]);
    await writeDepthPlot(join(dir, 'small.png'), report(5), { width: 800, height: 600, metric: 'snrDb' });
    const small = await sharp(join(dir, 'small.png')).metadata();
    expect([small.width, small.height]).toEqual([800, 600]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('draws the threshold dashed, failing points red, and labels the first failing tensor', () => {
    const r = report(30);
    expect(r.firstFailing).not.toBeNull();
    const svg = depthPlotSvg(r);
    expect(svg).toMatch(/stroke-dasharray="7,5"/);
    expect(svg).toContain('threshold 0.999');
    expect(svg).toContain(`first failing: ${r.firstFailing} (#`);
    expect(svg).toContain('fill="#d62728"');
    expect(svg).toContain('topological index');
    expect(svg).toContain('SNR dB');
  });

  it('escapes hostile names for XML and the terminal alike', () => {
    const svg = depthPlotSvg(report(30, (i) => `<t${i}>&\x1b[31m`));
    expect(svg).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    expect(svg).toContain('&#60;t');
    expect(svg).not.toContain('<t1>');
  });

  it('renders an empty report with a message', async () => {
    const empty = { ...report(0), firstFailing: null };
    expect(depthPlotSvg(empty)).toContain('no tensors to plot');
    await writeDepthPlot(join(dir, 'empty.png'), empty);
    expect((await sharp(join(dir, 'empty.png')).metadata()).width).toBe(1100);
  });

  it('throws a UserError naming the file when it cannot write', async () => {
    await expect(writeDepthPlot(join(dir, 'no-such-dir', 'p.png'), report(3))).rejects.toThrow(UserError);
    await expect(writeDepthPlot(join(dir, 'no-such-dir', 'p.png'), report(3))).rejects.toThrow(/Could not write the plot .*p\.png/);
  });
});

describe('writeImageComparison', () => {
  function image(h: number, w: number, f: (c: number, y: number, x: number) => number) {
    const data = new Float32Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = f(c, y, x);
    return makeTensor('float32', [1, 3, h, w], data);
  }

  it('downscales a large image to 360 px panels with a colour bar', async () => {
    const ref = image(720, 720, (c, y, x) => (c === 0 ? 255 : (x + y) % 256));
    const path = join(dir, 'big.png');
    await writeImageComparison(path, ref, ref);
    const meta = await sharp(path).metadata();
    // margin 24 + 3 panels of 360 + 2 gaps of 24 + 16 + bar 18 + 84 for labels; 82 + 360 + 58 high
    expect([meta.width, meta.height]).toEqual([1270, 500]);
  });

  it('shows 0..255 images as they are and the zero-error heat map dark', async () => {
    const ref = image(20, 30, (c) => [200, 10, 30][c]);
    const test = image(20, 30, (c, y) => (y < 10 ? [200, 10, 30][c] : 0));
    const path = join(dir, 'solid.png');
    await writeImageComparison(path, ref, test);
    const meta = await sharp(path).metadata();
    // 30 px wide: enlarged 7x to 210 x 140 panels
    expect([meta.width, meta.height]).toEqual([24 + 3 * 210 + 48 + 16 + 18 + 84, 82 + 140 + 58]);
    expect(await pixel(path, 24 + 5, 82 + 5)).toEqual([200, 10, 30]);
    expect(await pixel(path, 24 + 210 + 24 + 5, 82 + 135)).toEqual([0, 0, 0]);
    expect(await pixel(path, 24 + 2 * (210 + 24) + 5, 82 + 5)).toEqual(heatColour(0));
    expect(await pixel(path, 24 + 2 * (210 + 24) + 5, 82 + 135)).toEqual(heatColour(1));
  });

  it('marks NaN pixels magenta', async () => {
    const ref = image(8, 8, () => 0.5);
    const test = image(8, 8, (c, y, x) => (c === 1 && y === 0 && x === 0 ? Number.NaN : 0.5));
    const path = join(dir, 'nan.png');
    await writeImageComparison(path, ref, test);
    expect(await pixel(path, 24 + 208 + 24 + 3, 82 + 3)).toEqual([255, 0, 255]);
    expect(await pixel(path, 24 + 3, 82 + 3)).toEqual([128, 128, 128]);
  });

  it.each([
    { dims: [1, 3, 4, 4], want: true },
    { dims: [2, 1, 4, 4], want: true },
    { dims: [3, 4, 4], want: true },
    { dims: [1, 4, 4, 4], want: false },
    { dims: [1, 3, 0, 4], want: false },
    { dims: [16], want: false },
  ])('isImageLike($dims) = $want', ({ dims, want }) => {
    expect(isImageLike(dims)).toBe(want);
  });

  it('rejects a tensor that is not image-like', async () => {
    const t = makeTensor('float32', [1, 4, 2, 2], new Float32Array(16));
    await expect(writeImageComparison(join(dir, 'x.png'), t, t)).rejects.toThrow(/shape \[1,4,2,2\] is not image-like/);
  });

  it.each([
    {
      min: 0,
      max: 255,
      mode: 'as-is',
      at: [
        [100, 100],
        [300, 255],
        [-5, 0],
      ],
    },
    {
      min: 0,
      max: 1,
      mode: 'unit',
      at: [
        [0.5, 128],
        [1, 255],
      ],
    },
    {
      min: -2,
      max: 2,
      mode: 'range',
      at: [
        [-2, 0],
        [0, 128],
        [2, 255],
        [3, 255],
      ],
    },
    { min: 7, max: 7, mode: 'as-is', at: [[7, 7]] },
    { min: -7, max: -7, mode: 'range', at: [[-7, 128]] },
  ])('imageScale($min, $max) is $mode', ({ min, max, mode, at }) => {
    const s = imageScale(min, max);
    expect(s.mode).toBe(mode);
    for (const [v, byte] of at) expect(s.toByte(v)).toBe(byte);
  });
});

describe('svg helpers', () => {
  it.each([
    { lo: 0, hi: 1, want: [0, 0.2, 0.4, 0.6, 0.8, 1] },
    { lo: 0.97, hi: 1.0, want: [0.97, 0.975, 0.98, 0.985, 0.99, 0.995, 1] },
    { lo: 0.5, hi: 3.5, want: [0.5, 1, 1.5, 2, 2.5, 3, 3.5] },
    { lo: -13, hi: 47, want: [-10, 0, 10, 20, 30, 40] },
    { lo: 3, hi: 3, want: [3] },
  ])('niceTicks($lo, $hi)', ({ lo, hi, want }) => {
    expect(niceTicks(lo, hi)).toEqual(want);
  });

  it('xmlText escapes markup and control characters', () => {
    expect(xmlText('a<b>&"\'\x1b')).toBe('a&#60;b&#62;&#38;&#34;&#39;\\x1b');
  });
});
