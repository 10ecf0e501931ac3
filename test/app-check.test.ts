import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEmulation } from '../src/app/check.js';
import { ownOutputs } from '../src/app/compare/compare-own.js';
import { compareTaps } from '../src/app/compare/compare.js';
import { quantBackendFor } from '../src/app/quantize.js';
import { toFloat32, type Tensor } from '../src/core/tensor.js';
import { FIXTURES } from '../src/models/fixtures.js';
import { isQuantizable, withOverrides, type Override } from '../src/quant/plan.js';
import { HAS_SHARED, REPO, SHARED, sharedCache } from './helpers/cli.js';
import { openWithPlan, writeSyntheticCalibration } from './helpers/quant-setup.js';

/**
 * The emulation self-check and the invariants that would have caught a runtime that does not
 * compute what the plan says (a saturated INT16 bias made INT16 worse than INT8 on
 * reducemean-overflow, 16 dB against 52): on every generated model and on the shared real ones,
 * for generic-int8, int8-fp16 and the all-INT16 plan, calibrated on inputs other than the one
 * evaluated.
 */

// The run's calibration cache: udnie and candy on cat and dog are calibrated once for this file,
// advisor-runnable and gate-defaults.
const dir = sharedCache('qs-app-check-');

const PLANS: [string, string, Override[]][] = [
  ['generic-int8', 'generic-int8', []],
  ['int8-fp16', 'int8-fp16', []],
  ['all-int16', 'generic-int8', [['*', 'int16']]],
];

const MODELS = ['models/demo-generator.onnx', ...FIXTURES.map((f) => f.file)];

/** 10·log10(Σx² / Σ(x−y)²) written out here, sharing no code with the metrics under test. */
function handSnrDb(x: Tensor, y: Tensor): number {
  const a = toFloat32(x);
  const b = toFloat32(y);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < a.length; i++) {
    signal += a[i] * a[i];
    noise += (a[i] - b[i]) ** 2;
  }
  return noise === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(signal / noise);
}

describe.each(MODELS)('%s', (model) => {
  const calibFor = () => writeSyntheticCalibration(join(REPO, model), join(dir, 'calib', model.replace(/\W/g, '_')), [1, 2, 3]);

  it('passes the self-check for generic-int8, int8-fp16 and all-INT16, and all-INT16 is at least as accurate as INT8', async () => {
    const calib = calibFor();
    const outputSnr = new Map<string, number[]>();
    for (const [name, profile, overrides] of PLANS) {
      const { ctx, setup } = await openWithPlan(join(REPO, model), { profile, overrides, calib });
      const result = await checkEmulation({ ctx, quant: setup });
      const bad = [...result.tensors, ...result.deployed].filter((r) => r.verdict === 'mismatch');
      expect(
        bad.map((r) => `${r.tensor}: ${r.difference.maxSteps} steps`),
        `${name}`,
      ).toEqual([]);
      expect(result.passes).toBe(true);
      expect(result.deployed.length).toBe(ctx.graph.outputs.length);
      outputSnr.set(
        name,
        result.deployed.map((d) => d.optimizedSnrDb),
      );
    }
    // The invariant: promoting every quantized node to INT16 never loses accuracy at an output
    // (0.5 dB of slack for outputs that are already at fp32's own noise).
    const int8 = outputSnr.get('generic-int8') as number[];
    const int16 = outputSnr.get('all-int16') as number[];
    int16.forEach((snr, k) => expect(snr, `output ${k}`).toBeGreaterThanOrEqual(Math.min(int8[k], 120) - 0.5));
  });

  it('own error (the shadow graph) equals the accumulated error of a plan that quantizes only that node', async () => {
    const calib = calibFor();
    const { ctx, setup } = await openWithPlan(join(REPO, model), { profile: 'generic-int8', calib });
    const quantized = ctx.graph.nodes.filter((n) => isQuantizable(setup.profile, n)).slice(0, 6);
    const taps = compareTaps(ctx, ['@all']);
    let compared = 0;
    for (const node of quantized) {
      const t = node.outputs[0];
      const own = await ownOutputs(ctx, setup, new Set(taps), [t], ctx.feeds);
      const ownValue = own.tensors.get(t);
      if (!ownValue) continue;
      const only = withOverrides(setup.plan, ctx.graph, [
        ['*', 'fp32'],
        [node.name, 'int8'],
      ]);
      const backend = await quantBackendFor(ctx, only, setup.calibration);
      let accumulated: Tensor;
      try {
        accumulated = (await backend.run(ctx.feeds, taps)).get(t) as Tensor;
      } finally {
        await backend.dispose();
      }
      const a = toFloat32(ownValue);
      const b = toFloat32(accumulated);
      let maxAbs = 0;
      let peak = 0;
      for (let i = 0; i < a.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
        peak = Math.max(peak, Math.abs(b[i]));
      }
      // The same kernel on the same float inputs: equal up to one int8 code flipped by float order.
      expect(maxAbs, `${node.name}`).toBeLessThanOrEqual((peak / 127) * 1.01 + 1e-12);
      compared++;
    }
    expect(compared).toBe(quantized.length);
  });
});

describe('the planted large-bias and reducemean-overflow fixtures at INT16', () => {
  it.each(['fixtures/large-bias.onnx', 'fixtures/reducemean-overflow.onnx'])(
    '%s: all-INT16 is at least as accurate as INT8',
    async (model) => {
      const calib = writeSyntheticCalibration(join(REPO, model), join(dir, 'calib-planted', model.replace(/\W/g, '_')), [4, 5]);
      const snr: number[] = [];
      for (const overrides of [[], [['*', 'int16']]] as Override[][]) {
        const { ctx, setup } = await openWithPlan(join(REPO, model), { profile: 'generic-int8', overrides, calib });
        const float = await (await import('../src/app/context.js')).floatBackendFor(ctx);
        const quant = await quantBackendFor(ctx, setup.plan, setup.calibration);
        try {
          const out = ctx.graph.outputs[0].name;
          const ref = (await float.run(ctx.feeds, [])).get(out) as Tensor;
          const test = (await quant.run(ctx.feeds, [])).get(out) as Tensor;
          snr.push(handSnrDb(ref, test));
        } finally {
          await float.dispose();
          await quant.dispose();
        }
      }
      // Measured before the bias rule, on the calibration input: reducemean-overflow 52.1 dB at
      // INT8, 16.0 dB at INT16; large-bias 38 dB at INT8, -2.6 dB at INT16. Here the evaluation
      // input is not a calibration input, so INT16 ranges may clip a little: INT16 must still win.
      expect(snr[1]).toBeGreaterThanOrEqual(snr[0]);
      expect(snr[1]).toBeGreaterThan(45);
    },
  );
});

if (!HAS_SHARED) console.log(`skipping the self-check on udnie and candy: ${SHARED} is absent`);

describe.skipIf(!HAS_SHARED).each(['udnie', 'candy'])('%s (calibrated on cat and dog, evaluated on fish)', { tags: ['slow'] }, (name) => {
  it('passes the self-check for generic-int8, int8-fp16 and all-INT16; all-INT16 beats INT8', async () => {
    const images = join(SHARED, 'images');
    const snr = new Map<string, number>();
    for (const [plan, profile, overrides] of PLANS) {
      const { ctx, setup } = await openWithPlan(join(SHARED, 'models', `${name}.onnx`), {
        profile,
        overrides,
        calib: [join(images, 'cat.jpg'), join(images, 'dog.jpg')],
        inputs: [join(images, 'fish_720.png')],
      });
      const result = await checkEmulation({ ctx, quant: setup, maxMemory: 512 * 1024 * 1024 });
      const bad = [...result.tensors, ...result.deployed].filter((r) => r.verdict === 'mismatch');
      expect(
        bad.map((r) => `${r.tensor}: ${r.difference.maxSteps} steps`),
        plan,
      ).toEqual([]);
      snr.set(plan, result.deployed[0].optimizedSnrDb);
    }
    console.log(`${name} output SNR: ${[...snr].map(([k, v]) => `${k} ${v.toFixed(1)} dB`).join(', ')}`);
    expect(snr.get('all-int16') as number).toBeGreaterThan((snr.get('generic-int8') as number) + 20);
  }, 240_000);
});
