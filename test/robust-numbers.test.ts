import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeMetrics, hasNonFiniteFailure, type Metrics } from '../src/analysis/metrics.js';
import type { DType } from '../src/core/dtype.js';
import { floatToBfloat16, floatToHalf } from '../src/core/float16.js';
import { allocate, makeTensor, toFloat64, type Tensor } from '../src/core/tensor.js';
import { createModel, writeModel, type ModelSpec } from '../src/onnx/index.js';
import { readManifest } from '../src/store/manifest.js';
import { writeNpy } from '../src/store/npy.js';
import { readRunTensor } from '../src/store/run-dir.js';
import { runCliInProcess, tempDir } from './helpers/cli.js';
import { describeReport, fuzz, int, pick, type Random } from './helpers/fuzz.js';

/**
 * Numbers that break naive code (issue 8): NaN and Inf, all-zero tensors, denormals, integer and
 * bool tensors, float16/bfloat16 bit patterns, and empty tensors (a zero dim). computeMetrics must
 * follow the policy stated in its doc comment for every dtype pair, and the run command must carry
 * such values through both backends and into loadable files.
 */

const work = tempDir('qs-numbers-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const F32_DENORMAL_MIN = 1.401298464324817e-45;
const F32_MAX = 3.4028234663852886e38;

/** A tensor of `dtype` holding the nearest representable values (NaN and Inf only in float types). */
function tensorOf(dtype: DType, dims: readonly number[], values: readonly number[]): Tensor {
  const data = allocate(dtype, values.length);
  values.forEach((v, i) => {
    if (dtype === 'float16') (data as Uint16Array)[i] = floatToHalf(v);
    else if (dtype === 'bfloat16') (data as Uint16Array)[i] = floatToBfloat16(v);
    else if (dtype === 'int64' || dtype === 'uint64') (data as BigInt64Array)[i] = BigInt(Number.isFinite(v) ? Math.trunc(v) : 0);
    else if (dtype === 'bool') (data as Uint8Array)[i] = v ? 1 : 0;
    else (data as Float32Array)[i] = Number.isFinite(v) || dtype.startsWith('float') ? v : 0;
  });
  return makeTensor(dtype, dims, data);
}

const f32 = (values: number[], dims: number[] = [values.length]) => tensorOf('float32', dims, values);

describe('metrics on hostile numbers follow the stated policy', () => {
  const rows: { name: string; x: Tensor; y: Tensor; expect: Partial<Metrics> & { failure?: boolean } }[] = [
    {
      name: 'NaN at the same place on both sides is counted and left out',
      x: f32([1, Number.NaN, 3]),
      y: f32([1, Number.NaN, 3]),
      expect: { nanRef: 1, nanTest: 1, compared: 2, cosine: 1, mse: 0, snrDb: Infinity, nonFiniteIntroduced: 0, failure: false },
    },
    {
      name: 'NaN or Inf appearing in the test fails the tensor',
      x: f32([1, 2, 3, 4]),
      y: f32([1, Number.NaN, Infinity, 4]),
      expect: { nanTest: 1, infTest: 1, compared: 2, nonFiniteIntroduced: 2, failure: true, cosine: 1 },
    },
    {
      name: "Inf in the reference is the reference's problem, not a failure",
      x: f32([-Infinity, 2]),
      y: f32([0, 2]),
      expect: { infRef: 1, compared: 1, nonFiniteIntroduced: 0, failure: false, refRange: { min: 2, max: 2 } },
    },
    {
      // Nothing measured: nothing may look exact (before: cosine 1, errors 0, SNR "exact").
      name: 'all NaN: nothing compared, every measure NaN',
      x: f32([Number.NaN, Number.NaN]),
      y: f32([Number.NaN, Number.NaN]),
      expect: {
        compared: 0,
        cosine: Number.NaN,
        mse: Number.NaN,
        mae: Number.NaN,
        maxAbs: Number.NaN,
        maxAbsIndex: [],
        snrDb: Number.NaN,
        psnrDb: Number.NaN,
      },
    },
    {
      name: 'all -inf on both sides: nothing compared, every measure NaN',
      x: f32([-Infinity, -Infinity, -Infinity]),
      y: f32([-Infinity, -Infinity, -Infinity]),
      expect: { compared: 0, infRef: 3, infTest: 3, cosine: Number.NaN, snrDb: Number.NaN, maxAbs: Number.NaN },
    },
    {
      name: 'all-zero on both sides, with a channel axis',
      x: f32([0, 0, 0, 0], [1, 2, 2]),
      y: f32([0, -0, 0, 0], [1, 2, 2]),
      expect: { cosine: 1, relL2: 0, snrDb: Infinity, psnrDb: Infinity, worstChannelCosine: 1 },
    },
    {
      name: 'float32 denormals are compared, not flushed',
      x: f32([F32_DENORMAL_MIN, 2 * F32_DENORMAL_MIN]),
      y: f32([F32_DENORMAL_MIN, 0]),
      expect: { compared: 2, mae: F32_DENORMAL_MIN, maxAbs: 2 * F32_DENORMAL_MIN, maxAbsIndex: [1], relL2: Math.sqrt(4 / 5) },
    },
    {
      name: 'float32 extremes do not overflow the float64 sums',
      x: f32([F32_MAX, -F32_MAX]),
      y: f32([F32_MAX, F32_MAX]),
      expect: { cosine: 0, compared: 2, snrDb: 10 * Math.log10((2 * F32_MAX ** 2) / (4 * F32_MAX ** 2)) },
    },
    {
      name: 'empty (a zero dim): count 0, cosine 1, no channel',
      x: f32([], [2, 0, 3]),
      y: f32([], [2, 0, 3]),
      expect: { count: 0, compared: 0, cosine: 1, mse: 0, maxAbsIndex: [], snrDb: Infinity, worstChannelCosine: null },
    },
    {
      name: 'int8 against int8, at the type limits',
      x: tensorOf('int8', [3], [-128, 0, 127]),
      y: tensorOf('int8', [3], [127, 0, -128]),
      expect: { cosine: (-2 * 128 * 127) / (128 * 128 + 127 * 127), compared: 3, maxAbs: 255, maxAbsIndex: [0] },
    },
    {
      name: 'int64 beyond 2^53 against float32',
      x: makeTensor('int64', [2], new BigInt64Array([1n << 60n, -(1n << 60n)])),
      y: f32([2 ** 60, -(2 ** 60)]),
      expect: { cosine: 1, mse: 0, compared: 2 },
    },
    {
      name: 'bool against uint8',
      x: tensorOf('bool', [4], [1, 0, 1, 1]),
      y: tensorOf('uint8', [4], [1, 0, 0, 1]),
      expect: { compared: 4, mse: 0.25, mae: 0.25, maxAbsIndex: [2] },
    },
    {
      name: 'float16 NaN and Inf bit patterns are decoded as such',
      x: makeTensor('float16', [3], new Uint16Array([0x3c00, 0x7c00, 0x7e00])),
      y: makeTensor('float16', [3], new Uint16Array([0x3c00, 0x3c00, 0x3c00])),
      expect: { infRef: 1, nanRef: 1, compared: 1, cosine: 1, failure: false },
    },
    {
      name: 'bfloat16 against float32',
      x: tensorOf('bfloat16', [2], [1, -2]),
      y: f32([1, -2]),
      expect: { cosine: 1, mse: 0 },
    },
  ];

  it.each(rows)('$name', ({ x, y, expect: want }) => {
    const m = computeMetrics(x, y);
    const { failure, ...fields } = want;
    for (const [k, v] of Object.entries(fields)) {
      if (typeof v === 'number' && Number.isFinite(v) && v !== 0) expect(m[k as keyof Metrics], k).toBeCloseTo(v, 10);
      else expect(m[k as keyof Metrics], k).toEqual(v);
    }
    if (failure !== undefined) expect(hasNonFiniteFailure(m)).toBe(failure);
  });

  // Values every numeric dtype can hold, and the float specials.
  const SPECIALS = [
    0,
    -0,
    1,
    -1,
    0.5,
    3,
    127,
    -128,
    255,
    1e-3,
    65504,
    70000,
    F32_DENORMAL_MIN,
    1e-38,
    F32_MAX,
    -F32_MAX,
    Number.NaN,
    Infinity,
    -Infinity,
  ];
  const DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool', 'float64'];

  function randomTensor(r: Random, dtype: DType, dims: readonly number[]): Tensor {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => (r() < 0.5 ? pick(r, SPECIALS) : (r() - 0.5) * 10 ** int(r, -5, 5)));
    return tensorOf(dtype, dims, values);
  }

  it('never throws and keeps every invariant for random special values of every dtype pair', async () => {
    let pairs = 0;
    const report = await fuzz({ target: 'metrics', seed: 0x6e756d, cases: 1500 }, (r) => {
      const dims = pick(r, [[0], [1], [7], [2, 3], [1, 4, 2, 2], [2, 0, 3], [1, 3, 5, 5], []]);
      const dx = pick(r, DTYPES);
      const dy = r() < 0.5 ? dx : pick(r, DTYPES);
      const x = randomTensor(r, dx, dims);
      const y = r() < 0.2 ? x : randomTensor(r, dy, dims);
      return {
        size: 0,
        kind: `${dx}/${dy}`,
        run: () => {
          pairs++;
          checkInvariants(x, y, computeMetrics(x, y, r() < 0.3 ? { calibratedRange: { min: -1, max: 1 }, fp16: true } : {}));
        },
      };
    });
    console.log(describeReport(report));
    expect(pairs).toBe(1500);
    expect(report.rejected).toBe(0);
  });
});

/** The policy of computeMetrics, checked against a direct count. */
function checkInvariants(x: Tensor, y: Tensor, m: Metrics): void {
  const xs = toFloat64(x);
  const ys = toFloat64(y);
  let nanX = 0,
    nanY = 0,
    infX = 0,
    infY = 0,
    compared = 0,
    introduced = 0,
    equal = 0;
  for (let i = 0; i < xs.length; i++) {
    const fx = Number.isFinite(xs[i]);
    const fy = Number.isFinite(ys[i]);
    if (Number.isNaN(xs[i])) nanX++;
    else if (!fx) infX++;
    if (Number.isNaN(ys[i])) nanY++;
    else if (!fy) infY++;
    if (fx && fy) {
      compared++;
      if (xs[i] === ys[i]) equal++;
    }
    if (fx && !fy) introduced++;
  }
  const where = `x ${x.dtype}${JSON.stringify(x.dims)}, y ${y.dtype}`;
  expect({ nanX, nanY, infX, infY, compared, introduced }, where).toEqual({
    nanX: m.nanRef,
    nanY: m.nanTest,
    infX: m.infRef,
    infY: m.infTest,
    compared: m.compared,
    introduced: m.nonFiniteIntroduced,
  });
  expect(m.count, where).toBe(xs.length);
  if (xs.length > 0 && compared === 0) {
    // Nothing measured: every measure NaN, never "exact".
    for (const k of ['cosine', 'mse', 'rmse', 'mae', 'maxAbs', 'maxRel', 'meanRel', 'relL2', 'snrDb', 'psnrDb'] as const) {
      expect(Number.isNaN(m[k]), `${where}: ${k} ${m[k]}`).toBe(true);
    }
    expect(hasNonFiniteFailure(m)).toBe(introduced > 0);
    return;
  }
  expect(m.cosine >= -1 && m.cosine <= 1, `${where}: cosine ${m.cosine}`).toBe(true);
  for (const k of ['mse', 'rmse', 'mae', 'maxAbs', 'maxRel', 'meanRel'] as const) {
    expect(m[k] >= 0 && Number.isFinite(m[k]), `${where}: ${k} ${m[k]}`).toBe(true);
  }
  expect(m.relL2 >= 0, `${where}: relL2 ${m.relL2}`).toBe(true);
  expect(Number.isNaN(m.snrDb) || Number.isNaN(m.psnrDb), `${where}: snr ${m.snrDb}, psnr ${m.psnrDb}`).toBe(false);
  if (m.worstChannelCosine !== null) expect(m.worstChannelCosine >= -1 && m.worstChannelCosine <= 1, where).toBe(true);
  if (equal === compared) {
    expect([m.cosine, m.mse, m.snrDb], where).toEqual([1, 0, Infinity]);
  }
  expect(hasNonFiniteFailure(m)).toBe(introduced > 0);
}

describe('the run command carries hostile numbers into loadable files', () => {
  /** x (float [1,2,4,4]) -> Conv 1x1 -> Relu -> y, and i (int32 [4]) -> Cast -> Abs -> z, and e (float [0,3]) -> Relu -> ez. */
  const spec: ModelSpec = {
    name: 'numbers',
    opsets: { '': 13 },
    inputs: [
      { name: 'x', dtype: 'float32', shape: [1, 2, 4, 4] },
      { name: 'i', dtype: 'int32', shape: [4] },
      { name: 'e', dtype: 'float32', shape: [0, 3] },
    ],
    outputs: [
      { name: 'y', dtype: 'float32', shape: [1, 2, 4, 4] },
      { name: 'z', dtype: 'float32', shape: [4] },
      { name: 'ez', dtype: 'float32', shape: [0, 3] },
    ],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'] },
      { name: 'relu', opType: 'Relu', inputs: ['c'], outputs: ['y'] },
      { name: 'cast', opType: 'Cast', inputs: ['i'], outputs: ['fi'], attributes: { to: { kind: 'int', value: 1 } } },
      { name: 'abs', opType: 'Abs', inputs: ['fi'], outputs: ['z'] },
      { name: 'erelu', opType: 'Relu', inputs: ['e'], outputs: ['ez'] },
    ],
    initializers: [
      { name: 'w', tensor: f32([1, 0.5, -1, 2], [2, 2, 1, 1]) },
      { name: 'b', tensor: f32([0, 0.1]) },
    ],
  };
  const model = path.join(work, 'numbers.onnx');
  writeModel(createModel(spec), model);

  const xValues = (kind: string): number[] =>
    Array.from({ length: 32 }, (_, k) => {
      switch (kind) {
        case 'nan-inf':
          return [Number.NaN, Infinity, -Infinity, 1][k % 4];
        case 'zeros':
          return 0;
        case 'denormals':
          return F32_DENORMAL_MIN * (k + 1);
        default:
          return F32_MAX / (k + 1);
      }
    });

  it('run --backend both with an all-NaN input: calibration skips the NaN with a warning and the run goes on', async () => {
    const x = path.join(work, 'x-all-nan.npy');
    writeNpy(x, f32(Array(32).fill(Number.NaN), [1, 2, 4, 4]), { fsync: false });
    const out = path.join(work, 'run-all-nan');
    const r = await runCliInProcess(['run', model, '--backend', 'both', '--taps', '@all', '--input', `x=${x}`, '--out', out], {
      env: { QUANTSCOPE_CACHE: path.join(work, 'cache-all-nan') },
    });
    expect(r.code, r.stderr).toBe(0);
    // x, c and y hold only NaN: 96 values in 3 tensors, none with a finite value.
    expect(r.stderr).toContain(
      'warning: calibration skipped 96 NaN/Inf value(s) in 3 tensor(s); 3 of them had no finite value and got the empty range [0, 0]; check the calibration inputs',
    );
    expect(r.stderr).not.toContain('calibrate again');
    const manifest = readManifest(out);
    const y = manifest.tensors.filter((e) => e.name === 'y').map((e) => readRunTensor(out, e));
    expect(y).toHaveLength(2);
    const m = computeMetrics(y[0], y[1]);
    expect([m.cosine, m.snrDb, m.maxAbs]).toEqual([Number.NaN, Number.NaN, Number.NaN]);
  });

  it('an input with no finite value anywhere is still refused in one sentence', async () => {
    const only = path.join(work, 'only-x.onnx');
    writeModel(
      createModel({ ...spec, name: 'only-x', inputs: [spec.inputs[0]], outputs: [spec.outputs[0]], nodes: spec.nodes.slice(0, 2) }),
      only,
    );
    const x = path.join(work, 'x-all-nan-2.npy');
    writeNpy(x, f32(Array(32).fill(Number.NaN), [1, 2, 4, 4]), { fsync: false });
    const r = await runCliInProcess(['run', only, '--backend', 'both', '--input', `x=${x}`, '--out', path.join(work, 'run-only-nan')], {
      env: { QUANTSCOPE_CACHE: path.join(work, 'cache-only-nan') },
    });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/\nquantscope: Calibration saw no finite activation value; check the calibration inputs\.\n$/);
  });

  it.each(['nan-inf', 'zeros', 'denormals', 'huge'])('run --backend both with %s inputs, an int input and an empty input', async (kind) => {
    const x = path.join(work, `x-${kind}.npy`);
    const i = path.join(work, 'i.npy');
    const e = path.join(work, 'e.npy');
    writeNpy(x, f32(xValues(kind), [1, 2, 4, 4]), { fsync: false });
    writeNpy(i, makeTensor('int32', [4], new Int32Array([-2147483648, -1, 0, 2147483647])), { fsync: false });
    writeNpy(e, f32([], [0, 3]), { fsync: false });
    const out = path.join(work, `run-${kind}`);
    const r = await runCliInProcess(
      [
        'run',
        model,
        '--backend',
        'both',
        '--taps',
        '@all',
        '--input',
        `x=${x}`,
        '--input',
        `i=${i}`,
        '--input',
        `e=${e}`,
        '--out',
        out,
        '--quiet',
      ],
      { env: { QUANTSCOPE_CACHE: path.join(work, `cache-${kind}`) } },
    );
    expect(r.code, r.stderr).toBe(0);
    const manifest = readManifest(out);
    expect(manifest.status).toBe('complete');
    const byName = new Map<string, Tensor[]>();
    for (const entry of manifest.tensors) byName.set(entry.name, [...(byName.get(entry.name) ?? []), readRunTensor(out, entry)]);
    expect([...byName.keys()].sort()).toEqual(['c', 'ez', 'fi', 'y', 'z']);
    expect(byName.get('ez')?.[0].dims).toEqual([0, 3]);
    // Cast to float32 rounds 2^31 - 1 up to 2^31.
    expect(Array.from(toFloat64(byName.get('z')?.[0] as Tensor))).toEqual([2147483648, 1, 0, 2147483648]);
    for (const [ref, test] of byName.values()) checkInvariants(ref, test, computeMetrics(ref, test));
    if (kind === 'nan-inf') expect(computeMetrics(...(byName.get('c') as [Tensor, Tensor])).nanRef).toBeGreaterThan(0);
  });
});

describe('a tensor with no finite value', () => {
  it('fails every threshold instead of passing as exact', async () => {
    const { computeMetrics } = await import('../src/analysis/metrics.js');
    const { rowPasses } = await import('../src/analysis/comparison.js');
    const { makeTensor } = await import('../src/core/tensor.js');
    const t = makeTensor('float32', [4], Float32Array.from([-Infinity, -Infinity, -Infinity, -Infinity]));
    const m = computeMetrics(t, t);
    for (const [metric, threshold] of [
      ['cosine', 0.99],
      ['snrDb', 30],
      ['psnrDb', 40],
      ['mse', 1],
    ] as const) {
      expect(rowPasses(m, metric, threshold), metric).toBe(false);
    }
  });
});
