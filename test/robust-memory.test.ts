import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planMemory, type HeldTensor } from '../src/analysis/memory.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { writeNpy } from '../src/store/npy.js';
import { runCliInProcess, tempDir } from './helpers/cli.js';

/**
 * Resource limits (issue 8): one backend run holds the inputs, the outputs and one group of taps,
 * all within --max-memory. A tap or an input that cannot fit is refused with a clear sentence
 * before anything runs or is written, instead of an out-of-memory crash later.
 */

const work = tempDir('qs-memory-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MB = 1024 * 1024;
const t = (name: string, bytes: number | null): HeldTensor => ({ name, bytes });

describe('planMemory', () => {
  it('groups taps into what the inputs and outputs leave', () => {
    const plan = planMemory([t('a', 3 * MB), t('b', 3 * MB), t('c', 3 * MB), t('y', 2 * MB)], [t('x', 2 * MB)], [t('y', 2 * MB)], 10 * MB);
    expect(plan.fixedBytes).toBe(4 * MB);
    expect(plan.tapBudget).toBe(6 * MB);
    // y is an output, held anyway: it costs nothing more in a group.
    expect(plan.groups).toEqual([
      ['a', 'b'],
      ['c', 'y'],
    ]);
  });

  it('counts a tensor of unknown size as unknownBytes and does not refuse it', () => {
    const plan = planMemory([t('a', null), t('b', null)], [], [], 2 * MB, undefined, MB);
    expect(plan.groups).toEqual([['a', 'b']]);
  });

  it.each([
    {
      name: 'a tap larger than the budget',
      taps: [t('small', MB), t('\u001b[31mhuge', 50 * MB)],
      inputs: [t('x', MB)],
      outputs: [t('y', MB)],
      message:
        "Tap '\\x1b[31mhuge' alone takes 50.0 MB, which does not fit beside the model's inputs and outputs (2.0 MB) in --max-memory 16.0 MB; raise --max-memory or leave it out of the taps.",
    },
    {
      name: 'a tap that fits alone but not beside the inputs and outputs',
      taps: [t('a', 10 * MB)],
      inputs: [t('x', 4 * MB)],
      outputs: [t('y', 4 * MB)],
      message:
        "Tap 'a' alone takes 10.0 MB, which does not fit beside the model's inputs and outputs (8.0 MB) in --max-memory 16.0 MB; raise --max-memory or leave it out of the taps.",
    },
    {
      name: 'inputs larger than the budget',
      taps: [t('a', MB)],
      inputs: [t('x', 12 * MB), t('x2', 2 * MB)],
      outputs: [t('y', 4 * MB)],
      message:
        "The model's inputs and outputs alone take 18.0 MB (the largest, input 'x', 12.0 MB), more than --max-memory 16.0 MB; raise --max-memory.",
    },
  ])('refuses $name, naming it', ({ taps, inputs, outputs, message }) => {
    let thrown: unknown;
    try {
      planMemory(taps, inputs, outputs, 16 * MB);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).message).toBe(message);
  });
});

describe('run refuses what cannot fit --max-memory before running or writing anything', () => {
  // x [1,4,64,64] (64 KB) -> Conv to 128 channels (2 MB) -> Conv back to 4 channels -> y (64 KB).
  const b = new GraphBuilder({ name: 'wide', opset: 13, irVersion: 7, seed: 5 });
  const x = b.input('x', [1, 4, 64, 64]);
  const wide = b.conv(x, 128, 1, { name: 'widen', out: 'wide' });
  b.output(b.conv(wide, 4, 1, { name: 'narrow', out: 'y' }));
  const model = path.join(work, 'wide.onnx');
  writeModel(createModel(b.build()), model);

  it('a tap larger than the budget', async () => {
    const out = path.join(work, 'run-tap');
    const r = await runCliInProcess(['run', model, '--taps', 'wide', '--max-memory', '1MB', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "quantscope: Tap 'wide' alone takes 2.0 MB, which does not fit beside the model's inputs and outputs (128.0 KB) in --max-memory 1.0 MB; raise --max-memory or leave it out of the taps.\n",
    );
    expect(existsSync(out)).toBe(false);
  });

  it('the same run fits without that tap, or with a larger budget', async () => {
    expect((await runCliInProcess(['run', model, '--max-memory', '1MB', '--out', path.join(work, 'run-outputs'), '--quiet'])).code).toBe(0);
    expect(
      (await runCliInProcess(['run', model, '--taps', '@all', '--max-memory', '3MB', '--out', path.join(work, 'run-3mb'), '--quiet'])).code,
    ).toBe(0);
  });

  it('a declared input shape too large for this machine, before allocating it', async () => {
    const huge = path.join(work, 'huge-input.onnx');
    writeModel(
      createModel({
        name: 'huge',
        opsets: { '': 13 },
        inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 1_000_000, 1_000_000] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1, 3, 1_000_000, 1_000_000] }],
        nodes: [{ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
        initializers: [],
      }),
      huge,
    );
    const r = await runCliInProcess(['run', huge, '--out', path.join(work, 'run-huge')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^quantscope: The synthetic input 'x' of shape \[1,3,1000000,1000000\] would take [\d.]+ GB, more than this machine's [\d.]+ GB of memory; give a smaller shape\.\n$/,
    );
  });

  it('an input file larger than the budget, before calibrating', async () => {
    const b2 = new GraphBuilder({ name: 'big-input', opset: 13, irVersion: 7, seed: 6 });
    b2.output(b2.relu(b2.input('x', [1, 4, 512, 512]), { name: 'relu', out: 'y' }));
    const bigModel = path.join(work, 'big-input.onnx');
    writeModel(createModel(b2.build()), bigModel);
    const input = path.join(work, 'input-4mb.npy');
    writeNpy(input, makeTensor('float32', [1, 4, 512, 512], new Float32Array(4 * 512 * 512)), { fsync: false });
    const out = path.join(work, 'run-input');
    const r = await runCliInProcess(['run', bigModel, '--backend', 'both', '--input', `x=${input}`, '--max-memory', '6MB', '--out', out], {
      env: { QUANTSCOPE_CACHE: path.join(work, 'cache') },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "quantscope: The model's inputs and outputs alone take 8.0 MB (the largest, input 'x', 4.0 MB), more than --max-memory 6.0 MB; raise --max-memory.\n",
    );
    expect(existsSync(out)).toBe(false);
    expect(existsSync(path.join(work, 'cache'))).toBe(false);
  });
});

describe('every command makes the same memory check before anything runs', () => {
  // x [1,4,64,64] (64 KB) -> Conv to 64 channels (1 MB) -> Relu -> Conv back to 4 channels -> y (64 KB):
  // 'mid' fits a 1 MB budget beside nothing, and two copies of it (compare, probes) need 2 MB.
  const b = new GraphBuilder({ name: 'mid', opset: 13, irVersion: 7, seed: 7 });
  const x = b.input('x', [1, 4, 64, 64]);
  const mid = b.relu(b.conv(x, 64, 1, { name: 'widen', out: 'mid' }), { name: 'relu', out: 'mid_relu' });
  b.output(b.conv(mid, 4, 1, { name: 'narrow', out: 'y' }));
  const model = path.join(work, 'mid.onnx');
  writeModel(createModel(b.build()), model);
  const run = (args: string[], cache: string) =>
    runCliInProcess([...args, '--quiet'], { env: { QUANTSCOPE_CACHE: path.join(work, cache) } });

  it.each([
    ['compare', ['compare', model, '--taps', 'mid'], 'Tap'],
    ['bisect', ['bisect', model], 'Tensor'],
    ['fix', ['fix', model, '--out', path.join(work, 'never.plan.json')], 'Tensor'],
  ])('%s refuses a tensor it would hold from both backends, before calibrating', async (_, args, subject) => {
    const cache = `cache-${args[0]}`;
    const r = await run([...args, '--max-memory', '1MB'], cache);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^quantscope: ${subject} 'mid(_relu)?' alone takes 2\\.0 MB, which does not fit beside the model's inputs and outputs \\([\\d.]+ KB\\) in --max-memory 1\\.0 MB \\((compare|a probe) holds each tensor from both backends\\); raise --max-memory[^\\n]*\\.\\n$`,
      ),
    );
    expect(existsSync(path.join(work, cache)), 'nothing calibrated').toBe(false);
  });

  it('calibration refuses an activation it cannot hold, before running', async () => {
    const r = await run(
      ['run', model, '--backend', 'both', '--max-memory', '1MB', '--out', path.join(work, 'run-calibrate')],
      'cache-calibrate',
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      /^quantscope: Calibration tensor 'mid(_relu)?' alone takes 1\.0 MB, which does not fit beside the model's inputs and outputs \(128\.0 KB\) in --max-memory 1\.0 MB; raise --max-memory \(calibration measures every float activation\) or give --calibration FILE\.\n$/,
    );
    expect(existsSync(path.join(work, 'cache-calibrate'))).toBe(false);
  });

  it('the same commands run with a budget that holds them', async () => {
    for (const args of [
      ['compare', model, '--taps', 'mid'],
      ['bisect', model],
      ['run', model, '--backend', 'both', '--out', path.join(work, 'run-fits')],
    ]) {
      const r = await run([...args, '--max-memory', '3MB'], 'cache-fits');
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    }
  });
});
