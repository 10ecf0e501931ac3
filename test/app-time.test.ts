import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../src/app/context.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { qdqModel } from '../src/app/quantize.js';
import { timeModels, type TimeReport } from '../src/app/time.js';
import { findOrtProfile, readOrtProfile } from '../src/store/ort-profile.js';
import { REPO, isolatedCache, runCli } from './helpers/cli.js';

/** `quantscope time` (issue 17): timings on this machine, and onnxruntime's per-node profile read right. */

const work = isolatedCache('qs-time-');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MODEL = join(REPO, 'models', 'demo-generator.onnx');

describe('timing models', () => {
  it('times the float and the quantized model: warm-up, N runs, min <= median <= max, and the top nodes of the profile', async () => {
    const ctx = await openModel({ modelPath: MODEL });
    const setup = await setUpQuant(ctx, {});
    const report = await timeModels({
      ctx,
      models: [
        { label: 'float', model: ctx.loaded.model },
        { label: 'int8', model: qdqModel(ctx, setup.plan, setup.calibration, []).model },
      ],
      warmup: 1,
      repeat: 4,
      profileNodes: true,
      top: 3,
    });
    expect(report.results.map((r) => r.label)).toEqual(['float', 'int8']);
    for (const r of report.results) {
      expect(r.ms).toHaveLength(4);
      expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
      expect(r.medianMs).toBeLessThanOrEqual(r.maxMs);
      expect(r.minMs).toBeGreaterThan(0);
      expect(r.topNodes).toHaveLength(3);
      for (const n of r.topNodes ?? []) expect(n.calls).toBe(5); // warm-up and timed runs, each node once per run
      expect(r.topNodes?.[0].perRunMs).toBeGreaterThanOrEqual(r.topNodes?.[2].perRunMs ?? Infinity);
    }
    // The quantized model runs quantized kernels.
    expect(report.results[1].topNodes?.length).toBeGreaterThan(0);
  });

  it("reads onnxruntime's trace: kernel time per node, summed over runs, most expensive first", () => {
    const prefix = join(work, 'p');
    const events = [
      { cat: 'Session', name: 'model_run', dur: 900 },
      { cat: 'Node', name: 'conv_kernel_time', dur: 300, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'conv_fence_before', dur: 1, args: { op_name: 'Conv' } },
      { cat: 'Node', name: 'relu_kernel_time', dur: 50, args: { op_name: 'Relu' } },
      { cat: 'Node', name: 'conv_kernel_time', dur: 340, args: { op_name: 'Conv' } },
    ];
    writeFileSync(`${prefix}_2026-12-05_00-00-00.json`, JSON.stringify(events));
    expect(readOrtProfile(findOrtProfile(prefix))).toEqual([
      { node: 'conv', opType: 'Conv', totalUs: 640, calls: 2 },
      { node: 'relu', opType: 'Relu', totalUs: 50, calls: 1 },
    ]);
  });

  it('the CLI prints one line per model, and JSON with --json', () => {
    const env = { QUANTSCOPE_CACHE: join(work, 'cli-cache') };
    const text = runCli(['time', MODEL, '--repeat', '2', '--warmup', '0', '--quiet'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^float: median [\d.]+ ms, min [\d.]+ ms, max [\d.]+ ms over 2 run\(s\) after 0 warm-up$/m);
    expect(text.stdout).toMatch(/^generic-int8: median [\d.]+ ms, .* over 2 run\(s\) after 0 warm-up, [\d.]+x the float median$/m);
    const json = runCli(['time', MODEL, '--repeat', '1', '--no-quantized', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as TimeReport;
    expect(report.results.map((r) => [r.label, r.ms.length])).toEqual([['float', 1]]);
    expect(runCli(['time', MODEL, '--repeat', '0'], { env }).stderr).toBe('quantscope: --repeat must be at least 1, got 0.\n');
  });
});
