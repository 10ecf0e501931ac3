import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { valueDistribution } from '../src/analysis/distribution.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { floatToHalf } from '../src/core/float16.js';
import { writeNpy } from '../src/store/npy.js';
import { tempDir } from './helpers/cli.js';

const f32 = (dims: number[], values: number[]): Tensor => makeTensor('float32', dims, Float32Array.from(values));
const distributionOf = (ref: Tensor, test: Tensor, options = {}) => valueDistribution(ref, test, computeMetrics(ref, test), options);

describe('value distribution', () => {
  it('bins both sides over the float range extended to the quant range, the top edge in the last bin', () => {
    // Range -1..3 in 4 bins of 1: edges -1, 0, 1, 2, 3.
    const d = distributionOf(f32([4], [-1, 0, 0.5, 2]), f32([4], [0, 0, 3, 2.999]), { bins: 4 });
    expect(d).toMatchObject({ lo: -1, hi: 3, ref: [1, 2, 0, 1], test: [0, 2, 0, 2] });
  });

  it('leaves NaN and ±Inf out, and widens a single value by 0.5 each side as numpy does', () => {
    const d = distributionOf(f32([4], [2, 2, Number.NaN, Infinity]), f32([4], [2, -Infinity, 2, 2]), { bins: 2 });
    expect(d).toMatchObject({ lo: 1.5, hi: 2.5, ref: [0, 2], test: [0, 3], channels: null });
    expect(distributionOf(f32([2], [Number.NaN, Infinity]), f32([2], [Number.NaN, Number.NaN]))).toBeNull();
    expect(valueDistribution(f32([0], []), f32([0], []), computeMetrics(f32([0], []), f32([0], [])))).toBeNull();
  });

  it('gives per-channel ranges and SNR along axis 1, only the first channels when there are more', () => {
    // dims 2x3x2: element (n, c, k) at n*6 + c*2 + k.
    const ref = f32([2, 3, 2], [1, 2, 10, 20, 0, 0, /* n=1 */ 3, -1, 30, 40, 0, 0]);
    const test = f32([2, 3, 2], [1, 2, 10, 21, 0, 1, /* n=1 */ 3, -1, 30, 40, 0, Number.NaN]);
    const d = distributionOf(ref, test, { bins: 8, maxChannels: 2 });
    expect(d?.channels?.axis).toBe(1);
    expect(d?.channels?.count).toBe(3);
    expect(d?.channels?.ranges).toEqual([
      { channel: 0, refMin: -1, refMax: 3, testMin: -1, testMax: 3, snrDb: Infinity },
      // Σx² = 100 + 400 + 900 + 1600 = 3000, Σd² = 1.
      { channel: 1, refMin: 10, refMax: 40, testMin: 10, testMax: 40, snrDb: 10 * Math.log10(3000) },
    ]);
    const all = distributionOf(ref, test, { bins: 8 });
    // Channel 2: x all zero, one finite pair differs (0 vs 1): −Inf; the NaN pair is left out.
    expect(all?.channels?.ranges[2]).toEqual({ channel: 2, refMin: 0, refMax: 0, testMin: 0, testMax: 1, snrDb: -Infinity });
    // Every finite value is counted, tracked channel or not.
    expect(d?.ref.reduce((a, b) => a + b)).toBe(12);
    expect(d?.test.reduce((a, b) => a + b)).toBe(11);
  });

  it('reads float16 data without copying it to float32 first', () => {
    const half = makeTensor('float16', [3], Uint16Array.from([0.5, 1, 1.5].map(floatToHalf)));
    const d = distributionOf(half, f32([3], [0.5, 1, 1.5]), { bins: 2 });
    expect(d).toMatchObject({ lo: 0.5, hi: 1.5, ref: [1, 2], test: [1, 2] });
  });
});

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy) console.log('skipping the numpy histogram check: python3 with numpy is not available');

describe.skipIf(!hasNumpy)('value distribution against numpy', () => {
  it('matches numpy.histogram and per-channel min/max on a tensor dumped to .npy', () => {
    // A layer-like tensor 1x40x30x20: a wide channel 0, values on bin edges, a quant side clipped to a grid.
    const dims = [1, 40, 30, 20];
    const n = 40 * 30 * 20;
    const x = new Float32Array(n);
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < n; i++) {
      const c = Math.floor(i / 600);
      x[i] = (rand() - 0.45) * (c === 0 ? 50 : 1 + c / 10);
    }
    x[7] = 0; // an exact value and edge-like values
    x[8] = -25 + 0.78125;
    const scale = 0.2;
    const y = x.map((v) => Math.max(-12, Math.min(12, Math.round(v / scale) * scale)));
    y[9] = Number.NaN;
    const ref = makeTensor('float32', dims, x);
    const test = makeTensor('float32', dims, y);
    const d = valueDistribution(ref, test, computeMetrics(ref, test), { maxChannels: 32 });
    if (!d || !d.channels) throw new Error('no distribution');
    const dir = tempDir('qs-distribution-');
    writeNpy(join(dir, 'float.npy'), ref, { fsync: false });
    writeNpy(join(dir, 'quant.npy'), test, { fsync: false });
    const script = `
import json, sys, numpy as np
lo, hi, bins, kept = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = {}
for side in ['float', 'quant']:
    a = np.load(sys.argv[1] + '/' + side + '.npy').astype(np.float64)
    flat = a[np.isfinite(a)]
    counts, _ = np.histogram(flat, bins=bins, range=(lo, hi))
    ch = []
    for c in range(kept):
        v = a[:, c][np.isfinite(a[:, c])]
        ch.append([float(v.min()), float(v.max())])
    out[side] = {'counts': counts.tolist(), 'channels': ch}
print(json.dumps(out))
`;
    const args = [dir, String(d.lo), String(d.hi), String(d.ref.length), String(d.channels.ranges.length)];
    const np = JSON.parse(execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' })) as Record<
      'float' | 'quant',
      { counts: number[]; channels: [number, number][] }
    >;
    expect(d.ref).toEqual(np.float.counts);
    expect(d.test).toEqual(np.quant.counts);
    expect(d.channels.ranges.map((r) => [r.refMin, r.refMax])).toEqual(np.float.channels);
    expect(d.channels.ranges.map((r) => [r.testMin, r.testMax])).toEqual(np.quant.channels);
    expect(d.channels.count).toBe(40);
    // The quant side piles up at its clip limits: the bins holding ±12 hold far more than float's.
    const bin = (v: number): number => Math.min(d.ref.length - 1, Math.floor(((v - d.lo) / (d.hi - d.lo)) * d.ref.length));
    expect(d.test[bin(12)]).toBeGreaterThan(3 * d.ref[bin(12)]);
  });
});
