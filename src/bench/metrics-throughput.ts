import { computeMetrics, type MetricOptions } from '../analysis/metrics.js';
import { makeTensor, type Tensor } from '../core/tensor.js';
import { figure, nowMs, type Figure } from './figures.js';

/**
 * Section 4: throughput of the one-pass metrics (analysis/metrics.ts computeMetrics) in MB of
 * reference plus test data per second per core. computeMetrics runs on one thread, so per core
 * means per CPU-second of this process: bytes / (user + system CPU time), which a loaded machine
 * does not distort the way wall time does. Wall-time throughput is reported beside it.
 */

/** A deterministic activation-like pair: x smooth with a channel-dependent offset, y = x plus small error. */
export function syntheticPair(dims: readonly number[]): { ref: Tensor; test: Tensor } {
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const plane = dims.length >= 3 ? dims.slice(2).reduce((a, b) => a * b, 1) : n;
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    // xorshift: cheap and deterministic, no Math.random.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const noise = (seed >>> 0) / 4294967296 - 0.5;
    const c = Math.floor(i / plane);
    const v = Math.sin(i * 0.001) * 3 + (c % 7) - 3;
    x[i] = v;
    y[i] = v + noise * 0.02;
  }
  return { ref: makeTensor('float32', dims, x), test: makeTensor('float32', dims, y) };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface ThroughputOptions {
  readonly dims: readonly number[];
  readonly reps: number;
}

/**
 * Measures computeMetrics over one synthetic pair `reps` times, with the options a compare uses
 * for a plain float tensor and for a quantized one (calibrated range: adds clipRatio).
 */
export function metricsThroughput(options: ThroughputOptions): Figure[] {
  const { ref, test } = syntheticPair(options.dims);
  const mb = ((ref.data as Float32Array).byteLength + (test.data as Float32Array).byteLength) / 1e6;
  const cases: { key: string; label: string; opts: MetricOptions }[] = [
    { key: 'plain', label: 'computeMetrics, float tensor', opts: {} },
    { key: 'calibrated', label: 'computeMetrics, quantized tensor (clipRatio)', opts: { calibratedRange: { min: -4, max: 4 } } },
  ];
  const figures: Figure[] = [];
  const shape = `[${options.dims.join(',')}]`;
  for (const c of cases) {
    computeMetrics(ref, test, c.opts); // warm-up: the first call compiles the loop
    const perCpu: number[] = [];
    const perWall: number[] = [];
    for (let r = 0; r < options.reps; r++) {
      const w = nowMs();
      const u = cpuMs();
      computeMetrics(ref, test, c.opts);
      perCpu.push(mb / ((cpuMs() - u) / 1000));
      perWall.push(mb / ((nowMs() - w) / 1000));
    }
    figures.push(
      figure(
        {
          id: `metrics.${c.key}.cpu`,
          section: 'metrics',
          label: `${c.label}, per CPU-second`,
          unit: 'MB/s',
          target: { comparator: '>=', value: 500, source: 'DESIGN.md §8' },
          note: `float32 ${shape}, ${mb.toFixed(0)} MB of reference+test per call`,
        },
        perCpu,
      ),
    );
    figures.push(figure({ id: `metrics.${c.key}.wall`, section: 'metrics', label: `${c.label}, per wall second`, unit: 'MB/s' }, perWall));
  }
  return figures;
}
