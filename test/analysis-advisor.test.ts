import { describe, expect, it } from 'vitest';
import {
  ADVISOR_THRESHOLDS as T,
  adviseBisect,
  adviseCompare,
  adviseFix,
  channelPeaks,
  explainInputDifference,
  valueStats,
  type AdviceGraph,
  type BisectFacts,
  type CalibrationFacts,
  type CompareAdvice,
  type Finding,
  type InputComparison,
} from '../src/analysis/advisor.js';
import { errorChangeDb } from '../src/analysis/advisor-error.js';
import { rangeExcess } from '../src/analysis/advisor-ranges.js';
import type { ComparisonReport, ComparisonRow } from '../src/analysis/comparison.js';
import type { Metrics } from '../src/analysis/metrics.js';
import { makeTensor } from '../src/core/tensor.js';

/** Metrics with hand-picked values; everything not given is a perfect match of 1000 values in [-1, 1]. */
function metrics(partial: Partial<Metrics> = {}): Metrics {
  return {
    cosine: 1,
    mse: 0,
    rmse: 0,
    mae: 0,
    maxAbs: 0,
    maxAbsIndex: [0, 0, 0, 0],
    relL2: 0,
    maxRel: 0,
    meanRel: 0,
    snrDb: Infinity,
    psnrDb: Infinity,
    worstChannelCosine: 1,
    worstChannel: 0,
    nanRef: 0,
    nanTest: 0,
    infRef: 0,
    infTest: 0,
    nonFiniteIntroduced: 0,
    clipRatio: null,
    fp16Overflow: null,
    errorPercentiles: { p50: 0, p90: 0, p99: 0 },
    refRange: { min: -1, max: 1 },
    testRange: { min: -1, max: 1 },
    count: 1000,
    compared: 1000,
    ...partial,
  };
}

function row(tensor: string, index: number, opType: string, m: Partial<Metrics>, extra: Partial<ComparisonRow> = {}): ComparisonRow {
  const full = metrics(m);
  return {
    tensor,
    node: tensor.replace(/_out$/, ''),
    opType,
    index,
    shape: [1, 4, 10, 25],
    dtype: 'float32',
    metrics: full,
    own: metrics(),
    verdict: 'follows',
    pass: full.cosine >= 0.99 && full.nonFiniteIntroduced === 0,
    ...extra,
  };
}

function report(rows: ComparisonRow[], extra: Partial<ComparisonReport> = {}): ComparisonReport {
  return {
    schemaVersion: 1,
    metric: 'cosine',
    threshold: 0.99,
    rows,
    firstFailing: rows.find((r) => !r.pass)?.tensor ?? null,
    worstSource: null,
    outputs: [rows[rows.length - 1].tensor],
    perturbation: null,
    ...extra,
  };
}

/** A chain graph: each row's producer reads the previous row's tensor. */
function chain(rows: readonly ComparisonRow[]): AdviceGraph {
  return {
    inputsOf: (t) => {
      const i = rows.findIndex((r) => r.tensor === t);
      return i > 0 ? [rows[i - 1].tensor] : [];
    },
    consumersOf: (t) => {
      const i = rows.findIndex((r) => r.tensor === t);
      return i >= 0 && i + 1 < rows.length ? [{ name: rows[i + 1].node, opType: rows[i + 1].opType }] : [];
    },
  };
}

function rules(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.rule);
}

function only(findings: readonly Finding[], rule: Finding['rule']): Finding {
  const hits = findings.filter((f) => f.rule === rule);
  expect(hits, `findings: ${JSON.stringify(findings, null, 1)}`).toHaveLength(1);
  return hits[0];
}

const f32 = (dims: number[], values: ArrayLike<number>) => makeTensor('float32', dims, Float32Array.from(values));

/** A deterministic [1,3,4,5] "image" in 0..255 with independent-looking channels. */
function image(): number[] {
  return Array.from({ length: 60 }, (_, i) => (i * 37 + (i % 7) * 11 + Math.floor(i / 20) * 90) % 256);
}

function transformed(fn: (c: number, p: number, v: (c: number, p: number) => number) => number): number[] {
  const x = image();
  const at = (c: number, p: number) => x[c * 20 + p];
  const out: number[] = [];
  for (let c = 0; c < 3; c++) for (let p = 0; p < 20; p++) out.push(fn(c, p, at));
  return out;
}

describe('explainInputDifference', () => {
  const x = f32([1, 3, 4, 5], image());
  const nhwc = (reverse: boolean) => {
    const v = image();
    const out: number[] = [];
    for (let p = 0; p < 20; p++) for (let c = 0; c < 3; c++) out.push(v[(reverse ? 2 - c : c) * 20 + p]);
    return out;
  };
  const table: { name: string; test: () => ReturnType<typeof f32>; kinds: string[] | null; same?: boolean; text?: RegExp }[] = [
    { name: 'the same input', test: () => f32([1, 3, 4, 5], image()), kinds: null, same: true },
    {
      name: 'within fp16 rounding',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v) => v * (1 + 2 ** -11)),
        ),
      kinds: null,
      same: true,
    },
    {
      name: 'RGB vs BGR',
      test: () =>
        f32(
          [1, 3, 4, 5],
          transformed((c, p, v) => v(2 - c, p)),
        ),
      kinds: ['channel-order'],
      text: /channels reversed \(RGB vs BGR\)/,
    },
    {
      name: 'scaled by 255',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v) => v * 255),
        ),
      kinds: ['scale'],
      text: /scaled by 255$/,
    },
    {
      name: 'scaled by 1/255',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v) => v / 255),
        ),
      kinds: ['scale'],
      text: /scaled by 1\/255/,
    },
    {
      name: 'BGR and 1/255',
      test: () =>
        f32(
          [1, 3, 4, 5],
          transformed((c, p, v) => v(2 - c, p) / 255),
        ),
      kinds: ['channel-order', 'scale'],
      text: /reversed \(RGB vs BGR\) and scaled by 1\/255/,
    },
    {
      name: 'a mean subtracted',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v) => v - 127.5),
        ),
      kinds: ['offset'],
      text: /shifted by -127\.5/,
    },
    {
      name: '0..255 against -1..1',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v) => v / 127.5 - 1),
        ),
      kinds: ['scale', 'offset'],
      text: /scaled by 1\/127\.5 and shifted by -1/,
    },
    {
      name: 'ImageNet mean/std per channel',
      test: () =>
        f32(
          [1, 3, 4, 5],
          transformed((c, p, v) => (v(c, p) / 255 - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c]),
        ),
      kinds: ['normalization'],
      text: /channel 0: ×0\.01712 − 2\.118/,
    },
    {
      name: 'NHWC where the reference is NCHW',
      test: () => f32([1, 4, 5, 3], nhwc(false)),
      kinds: ['layout'],
      text: /laid out as NHWC where the reference is NCHW/,
    },
    { name: 'NHWC and BGR', test: () => f32([1, 4, 5, 3], nhwc(true)), kinds: ['layout', 'channel-order'] },
    {
      name: 'another size',
      test: () => f32([1, 3, 2, 5], image().slice(0, 30)),
      kinds: ['size'],
      text: /\[1,3,2,5\] where the reference is \[1,3,4,5\]/,
    },
    {
      name: 'unrelated values',
      test: () =>
        f32(
          [1, 3, 4, 5],
          image().map((v, i) => (v * 7 + i * 13) % 256),
        ),
      kinds: null,
    },
  ];
  it.each(table)('$name', ({ test, kinds, same, text }) => {
    const r = explainInputDifference(x, test());
    expect(r.same).toBe(same ?? false);
    expect(r.transform?.kinds ?? null).toEqual(kinds);
    if (text) expect(r.transform?.text).toMatch(text);
  });
});

describe('inputs-differ', () => {
  const ref = f32([1, 3, 4, 5], image());
  const bgr = f32(
    [1, 3, 4, 5],
    transformed((c, p, v) => v(2 - c, p)),
  );
  const comparison = (test: ReturnType<typeof f32>): InputComparison => ({
    tensor: 'input',
    refShape: ref.dims,
    testShape: test.dims,
    metrics: metrics({ cosine: 0.81, relL2: 0.62, maxAbs: 200 }),
    ...explainInputDifference(ref, test),
  });
  // Layers downstream fail and one is a source: none of that may be blamed once the inputs differ.
  const rows = [
    row('conv_out', 1, 'Conv', { cosine: 0.8 }, { verdict: 'source', own: metrics({ cosine: 0.8 }) }),
    row('y', 2, 'Conv', { cosine: 0.7 }),
  ];

  it('names the channel order and blames no layer', () => {
    const findings = adviseCompare(report(rows), { inputs: [comparison(bgr)] });
    expect(rules(findings)).toEqual(['inputs-differ']);
    const f = findings[0];
    expect(f).toMatchObject({ severity: 'error', tensors: ['input'] });
    expect(f.message).toContain("Graph input 'input' differs");
    expect(f.message).toContain('cosine 0.810000');
    expect(f.message).toContain('with its channels reversed (RGB vs BGR)');
    expect(f.message).toContain('blame no layer');
    expect(f.suggestion).toContain('order=RGB or order=BGR');
  });

  it('is quiet when the inputs are the same, and the layer rules speak', () => {
    const findings = adviseCompare(report(rows), { inputs: [comparison(f32([1, 3, 4, 5], image()))] });
    expect(rules(findings)).toEqual(['source-amplifier']);
  });

  it("falls back on the manifests' sha256 when the dumps hold no input tensor", () => {
    const digest = (sha: string) => ({
      tensor: 'input',
      ref: { source: 'fish.png', sha256: 'a'.repeat(64) },
      test: { source: 'fish.png', sha256: sha },
    });
    const differ = adviseCompare(report(rows), { inputDigests: [digest('b'.repeat(64))] });
    expect(rules(differ)).toEqual(['inputs-differ']);
    expect(differ[0].message).toContain("both from 'fish.png'; sha256 aaaaaaaaaaaa… against bbbbbbbbbbbb…");
    expect(differ[0].suggestion).toContain('--taps input');
    expect(rules(adviseCompare(report(rows), { inputDigests: [digest('a'.repeat(64))] }))).not.toContain('inputs-differ');
  });
});

describe('fp16-overflow', () => {
  const graphRows = [
    row('offset_out', 0, 'Add', { refRange: { min: 39, max: 41 }, fp16Overflow: 0, count: 8192 }),
    row(
      'mean_out',
      1,
      'ReduceMean',
      { cosine: 1, nanTest: 0, infTest: 2, nonFiniteIntroduced: 2, fp16Overflow: 2, count: 2, refRange: { min: 40, max: 40 } },
      { own: metrics({ infTest: 2, nonFiniteIntroduced: 2, fp16Overflow: 2 }) },
    ),
    row(
      'center_out',
      2,
      'Sub',
      { infTest: 8192, nonFiniteIntroduced: 8192, fp16Overflow: 8192, count: 8192 },
      { own: metrics({ fp16Overflow: 0 }) },
    ),
  ];

  it('names the reduction, its running sum and the nodes to run in FP32; later Inf is carried', () => {
    const f = only(adviseCompare(report(graphRows), { graph: chain(graphRows) }), 'fp16-overflow');
    expect(f.severity).toBe('error');
    expect(f.tensors).toEqual(['mean_out', 'center_out']);
    expect(f.message).toContain(
      "'mean_out' (ReduceMean 'mean'), run in fp16, holds 2 Inf/NaN value(s) where the float reference is finite (reference range [40, 40])",
    );
    expect(f.message).toContain('the running sum of 4096 elements of about 40 reaches about 1.64e+5, past 65504');
    expect(f.message).toContain('1 later tensor(s) carry the Inf along');
    expect(f.suggestion).toContain('--precision mean=fp32');
  });

  it('flags a reference beyond 65504 in an fp16 tensor', () => {
    const rows = [row('big_out', 0, 'Mul', { fp16Overflow: 3, refRange: { min: 0, max: 70000 } })];
    const f = only(adviseCompare(report(rows)), 'fp16-overflow');
    expect(f.message).toContain("has 3 reference value(s) beyond fp16's largest 65504 (reference range [0, 70000])");
  });

  it('is quiet for finite fp16 tensors and for Inf outside fp16 storage', () => {
    const finite = [row('a_out', 0, 'Add', { fp16Overflow: 0, refRange: { min: 0, max: 60000 } })];
    expect(rules(adviseCompare(report(finite)))).not.toContain('fp16-overflow');
    const int8 = [row('b_out', 0, 'Conv', { infTest: 1, nonFiniteIntroduced: 1, clipRatio: 0 })];
    expect(rules(adviseCompare(report(int8)))).not.toContain('fp16-overflow');
  });
});

const calibration = (
  ranges: Record<string, { observed: [number, number]; used?: [number, number] }>,
  method = 'percentile',
): CalibrationFacts => ({
  method,
  percentile: method === 'percentile' ? 99.99 : null,
  samples: 3,
  sources: ['/data/cat.jpg', 'dog.jpg', 'bird.jpg'],
  rangeOf: (t) => {
    const r = ranges[t];
    return r
      ? { observed: { min: r.observed[0], max: r.observed[1] }, ...(r.used ? { used: { min: r.used[0], max: r.used[1] } } : {}) }
      : undefined;
  },
});

describe('clipping', () => {
  it('names a quantized tensor clipping 5% of its values, with both ranges and the calibration', () => {
    const rows = [
      row('conv_out', 0, 'Conv', { clipRatio: 0.05, count: 1000, refRange: { min: -11, max: 11.7 } }, { own: metrics({ cosine: 0.98 }) }),
    ];
    const facts: CompareAdvice = { calibration: calibration({ conv_out: { observed: [-11.3, 12.5], used: [-5.6, 5.6] } }) };
    const f = only(adviseCompare(report(rows), facts), 'clipping');
    expect(f.message).toContain(
      "'conv_out' (Conv 'conv') has 5% of its values (50 of 1000) outside its calibrated range [-5.6, 5.6], while the reference spans [-11, 11.7]",
    );
    expect(f.message).toContain('own error alone is cosine 0.980000');
    expect(f.suggestion).toContain('--method minmax');
    expect(f.suggestion).toContain("percentile 99.99 calibration on 3 input(s) ('cat.jpg', 'dog.jpg' and 'bird.jpg')");
  });

  it('asks for more data when the method already keeps the extremes', () => {
    const rows = [row('conv_out', 0, 'Conv', { clipRatio: 0.05 })];
    const f = only(adviseCompare(report(rows), { calibration: calibration({}, 'minmax') }), 'clipping');
    expect(f.suggestion).toContain('more calibration inputs that cover these values');
  });

  it.each([
    { name: 'a small ratio (udnie: 0.015%)', clipRatio: 1.5e-4, count: 10_000_000 },
    { name: 'two of ten logits', clipRatio: 0.2, count: 10 },
    { name: 'no calibrated range', clipRatio: null, count: 1000 },
  ])('is quiet for $name', ({ clipRatio, count }) => {
    expect(rules(adviseCompare(report([row('t', 0, 'Gemm', { clipRatio, count })])))).not.toContain('clipping');
  });
});

describe('calibration-mismatch', () => {
  const names = ['a', 'b', 'c', 'd'];
  it('fires when most calibrated tensors reach far beyond calibration, and takes those tensors from clipping', () => {
    const rows = names.map((n, i) => row(n, i, 'Conv', { refRange: { min: 0, max: i < 3 ? 255 : 1 }, clipRatio: i < 3 ? 0.5 : 0 }));
    const facts: CompareAdvice = {
      calibration: calibration(Object.fromEntries(names.map((n) => [n, { observed: [0, 1] as [number, number] }]))),
    };
    const findings = adviseCompare(report(rows), facts);
    const f = only(findings, 'calibration-mismatch');
    expect(f.tensors).toEqual(['a', 'b', 'c']);
    expect(f.message).toContain('3 of 4 calibrated tensors (75%)');
    expect(f.message).toContain("'a' spans [0, 255] against [0, 1] in calibration");
    expect(f.suggestion).toContain('Calibrate on inputs like the evaluation inputs');
    expect(rules(findings)).not.toContain('clipping');
  });

  it('is quiet when few tensors overshoot (udnie: at most 0.04 of the width)', () => {
    const rows = names.map((n, i) => row(n, i, 'Conv', { refRange: { min: -12, max: i === 0 ? 30 : 12.5 } }));
    const facts: CompareAdvice = {
      calibration: calibration(Object.fromEntries(names.map((n) => [n, { observed: [-13, 13] as [number, number] }]))),
    };
    expect(rules(adviseCompare(report(rows), facts))).not.toContain('calibration-mismatch');
  });

  it.each([
    { evaluated: [0, 1], calibrated: [0, 1], excess: 0 },
    { evaluated: [0, 3], calibrated: [0, 1], excess: 2 },
    { evaluated: [-2, 1], calibrated: [0, 2], excess: 1 },
    { evaluated: [5, 5], calibrated: [1, 1], excess: Infinity },
  ])('rangeExcess($evaluated against $calibrated) = $excess', ({ evaluated, calibrated, excess }) => {
    expect(rangeExcess({ min: evaluated[0], max: evaluated[1] }, { min: calibrated[0], max: calibrated[1] })).toBe(excess);
  });
});

describe('outlier-channel', () => {
  const rows = [
    row('concat_out', 0, 'Concat', { cosine: 0.99991, worstChannelCosine: 0.9989, worstChannel: 21 }),
    row('fuse_out', 1, 'Conv', { cosine: 0.996757, worstChannelCosine: 0.470273, worstChannel: 3 }),
  ];
  const peaks = (values: number[]) => Float64Array.from(values);

  it('names the crushed channel, the input channel that owns the range and the consumer to promote', () => {
    const facts: CompareAdvice = {
      graph: chain(rows),
      channelPeaks: new Map([
        ['concat_out', peaks([2.4, 2.8, 944.5, 2.7, 1.8])],
        ['fuse_out', peaks([187, 3.6, 2.3, 2.0])],
      ]),
    };
    const f = only(adviseCompare(report(rows), facts), 'outlier-channel');
    expect(f.tensors).toEqual(['fuse_out', 'concat_out']);
    expect(f.message).toContain("'fuse_out' (Conv 'fuse') has a tensor-wide cosine of 0.996757, but its channel 3 reaches only 0.470273");
    expect(f.message).toContain("Its input 'concat_out' has channel 2 peaking at 944.5 while the median channel peaks at 2.7 (349.8x)");
    expect(f.message).toContain('step of about 7.408');
    expect(f.suggestion).toContain("Quantize 'concat_out' per channel");
    expect(f.suggestion).toContain('--precision fuse=int16');
  });

  it("names the tensor's own channel and its consumers when the outlier is in the tensor itself", () => {
    const own = [
      row('h_out', 0, 'Conv', { cosine: 0.99995, worstChannelCosine: 0, worstChannel: 1 }),
      row('y', 1, 'Conv', { cosine: 0.14 }),
    ];
    const facts: CompareAdvice = { graph: chain(own), channelPeaks: new Map([['h_out', peaks([178119, 366, 220, 355])]]) };
    const f = only(adviseCompare(report(own), facts), 'outlier-channel');
    expect(f.message).toContain('Its own channel 0 peaks at 1.78e+5 while the median channel peaks at 355 (501.7x)');
    expect(f.suggestion).toContain("its consumer 'y' at INT16: --precision y=int16");
  });

  it('without peaks, fires only when the channel is far worse than the tensor', () => {
    const f = only(adviseCompare(report(rows)), 'outlier-channel');
    expect(f.message).toContain("Its error (1 − cosine) is 163.3 times the tensor's");
    // udnie's worst: channel 0.9896 against tensor 0.998765 (8.4x).
    const mild = [row('c_out', 0, 'Conv', { cosine: 0.998765, worstChannelCosine: 0.9896, worstChannel: 2 })];
    expect(rules(adviseCompare(report(mild)))).not.toContain('outlier-channel');
  });

  it('is quiet when the channels are of a size (natural spread) or the tensor fails as a whole', () => {
    const facts: CompareAdvice = {
      graph: chain(rows),
      channelPeaks: new Map([
        ['concat_out', peaks([9.3, 2.1, 4.5, 1.1])],
        ['fuse_out', peaks([11.7, 4, 2.1, 3.3])],
      ]),
    };
    expect(rules(adviseCompare(report(rows), facts))).not.toContain('outlier-channel');
    const failing = [row('y', 0, 'Conv', { cosine: 0.55, worstChannelCosine: 0, worstChannel: 0 })];
    expect(rules(adviseCompare(report(failing)))).not.toContain('outlier-channel');
  });
});

describe('source-amplifier', () => {
  const rows = [
    row('spike_out', 0, 'Mul', { cosine: 0.99993 }),
    row('src_out', 1, 'Conv', { cosine: 0.5367, snrDb: 1.41 }, { verdict: 'source', own: metrics({ cosine: 0.5369, snrDb: 1.42 }) }),
    row('conv_out', 2, 'Conv', { cosine: 0.9968, snrDb: 21.87 }),
    row('norm_out', 3, 'InstanceNormalization', { cosine: 0.646, snrDb: 1.5 }, { verdict: 'amplifier', own: metrics() }),
  ];
  it('names the worst source and each amplifier with own and accumulated error', () => {
    const facts: CompareAdvice = {
      graph: chain(rows),
      channelPeaks: new Map([
        ['spike_out', Float64Array.from([4.4, 3.1, 4.5, 2646])],
        ['src_out', Float64Array.from([1, 1, 1, 1])],
      ]),
    };
    const f = only(adviseCompare(report(rows, { worstSource: 'src_out' }), facts), 'source-amplifier');
    expect(f.tensors).toEqual(['src_out', 'norm_out']);
    expect(f.message).toContain(
      "The error starts at 'src_out' (Conv 'src'): its own error is cosine 0.536900 (SNR 1.42 dB) with float inputs, accumulated cosine 0.536700 (SNR 1.41 dB)",
    );
    expect(f.message).toContain("Its input 'spike_out' has channel 3 peaking at 2646 while the median channel peaks at 4.4 (601.4x)");
    expect(f.message).toContain(
      "'norm_out' (InstanceNormalization 'norm') amplifies the error it receives: its own error is cosine 1.000000 (SNR exact), accumulated cosine 0.646000 (SNR 1.50 dB) from cosine 0.996800 (SNR 21.87 dB) at its input 'conv_out': the error power grows by 20.37 dB here",
    );
    expect(f.suggestion).toContain('--precision src=int16');
    expect(f.suggestion).toContain("in 'conv_out' (node 'conv')");
  });

  it('suggests FP32 for a source stored in fp16', () => {
    const fp16 = [
      row('sub_out', 0, 'Sub', { cosine: 0.98, fp16Overflow: 0 }, { verdict: 'source', own: metrics({ cosine: 0.98, fp16Overflow: 0 }) }),
    ];
    expect(only(adviseCompare(report(fp16)), 'source-amplifier').suggestion).toContain('--precision sub=fp32');
  });

  it('is quiet when every row follows', () => {
    expect(rules(adviseCompare(report(rows.map((r) => ({ ...r, verdict: 'follows' as const })))))).not.toContain('source-amplifier');
  });
});

describe('tap-perturbation', () => {
  const rows = [row('y', 0, 'Conv', { cosine: 0.9996 })];
  const perturbed = (withTaps: number, withoutTaps: number) =>
    adviseCompare(report(rows, { perturbation: { output: 'y', metric: 'cosine', withTaps, withoutTaps } }));

  it('fires when the taps multiply the error (0.9996 against 0.9999: 6 dB)', () => {
    const f = only(perturbed(0.9996, 0.9999), 'tap-perturbation');
    expect(f.message).toContain(
      "'y' has cosine cosine 0.999600 with the run's taps and 0.999900 without (the error power grew by 6.021 dB)".replace(
        'cosine cosine',
        'cosine',
      ),
    );
    expect(f.suggestion).toContain('quantscope bisect');
  });

  it('fires when the verdict flips, however small the move', () => {
    const f = only(perturbed(0.98999, 0.99001), 'tap-perturbation');
    expect(f.message).toContain('which passes without the taps and fails with them');
  });

  it.each([
    { name: 'udnie (1.3 dB)', withTaps: 0.99968, withoutTaps: 0.99976 },
    { name: 'no move', withTaps: 0.5, withoutTaps: 0.5 },
  ])('is quiet for $name', ({ withTaps, withoutTaps }) => {
    expect(rules(perturbed(withTaps, withoutTaps))).not.toContain('tap-perturbation');
  });

  it.each([
    { metric: 'cosine' as const, a: 0.999, b: 0.99, db: 10 },
    { metric: 'snrDb' as const, a: 30, b: 27, db: 3 },
    { metric: 'mse' as const, a: 1e-4, b: 1e-3, db: 10 },
    { metric: 'rmse' as const, a: 0.01, b: 0.1, db: 20 },
    { metric: 'cosine' as const, a: 1, b: 0.99, db: Infinity },
    { metric: 'cosine' as const, a: 0.9, b: 0.9, db: 0 },
  ])('errorChangeDb($metric, $a, $b) = $db', ({ metric, a, b, db }) => {
    const got = errorChangeDb(metric, a, b);
    if (Number.isFinite(db)) expect(got).toBeCloseTo(db, 9);
    else expect(got).toBe(db);
  });
});

describe('metric-blind-spot', () => {
  const output = (m: Partial<Metrics>, shape = [1, 3, 720, 720]) => [
    row(
      'image',
      0,
      'Add',
      {
        cosine: 0.99968,
        snrDb: 31.94,
        psnrDb: 38.87,
        rmse: 3.082,
        mse: 9.5,
        refRange: { min: -38.07, max: 270.71 },
        ...m,
      },
      { shape },
    ),
  ];
  const stats = new Map([['image', { mean: 104.8, std: 62.1 }]]);

  it('fires on an image output passing cosine at 38.9 dB PSNR, saying which metric to trust and why', () => {
    const f = only(adviseCompare(report(output({})), { outputStats: stats }), 'metric-blind-spot');
    expect(f.tensors).toEqual(['image']);
    expect(f.message).toContain(
      "'image' passes cosine >= 0.99 with cosine 0.999680, but its PSNR is 38.87 dB (SNR 31.94 dB; RMS error 3.082 on a peak of 270.7)",
    );
    expect(f.message).toContain(
      'mean 104.8 and standard deviation 62.1, so the common offset holds 74.01% of its energy (SNR without the offset: 26.08 dB)',
    );
    expect(f.suggestion).toContain('--metric psnrDb --threshold 40');
  });

  it('without stats, judges the offset by the range', () => {
    const f = only(adviseCompare(report(output({}))), 'metric-blind-spot');
    expect(f.message).toContain('its values span -38.07..270.7, nearly all on one side of zero');
  });

  it.each([
    { name: 'PSNR at 45 dB', m: { psnrDb: 45 }, shape: [1, 3, 720, 720] },
    { name: 'a failing cosine', m: { cosine: 0.88 }, shape: [1, 3, 720, 720] },
    { name: 'an output that is not an image', m: {}, shape: [1, 2, 64, 64] },
    { name: 'a zero-centred image', m: { refRange: { min: -128, max: 127 } }, shape: [1, 3, 720, 720] },
  ])('is quiet for $name', ({ m, shape }) => {
    expect(rules(adviseCompare(report(output(m, shape))))).not.toContain('metric-blind-spot');
  });

  it('is quiet when the report already gates on PSNR', () => {
    expect(rules(adviseCompare(report(output({}), { metric: 'psnrDb', threshold: 30 }), { outputStats: stats }))).toEqual([]);
  });
});

describe('adviseBisect and adviseFix', () => {
  const base: BisectFacts = {
    metric: 'cosine',
    threshold: 0.99,
    outputs: [{ tensor: 'image', metrics: metrics({ cosine: 0.88 }), pass: false }],
    culprit: {
      node: 'fuse_norm',
      opType: 'InstanceNormalization',
      tensor: 'fuse_norm_out',
      metrics: metrics({ cosine: 0.647 }),
      precision: 'fp32',
    },
    inputs: [
      {
        tensor: 'fuse_conv_out',
        metrics: metrics({ cosine: 0.997053, worstChannelCosine: 0.469791, worstChannel: 3 }),
        pass: true,
        identical: false,
      },
    ],
    certificate: 'inputs-pass',
    perturbation: { output: 'image', metric: 'cosine', withTaps: 0.879187, withoutTaps: 0.88214 },
  };

  it('calls an fp32 culprit with passing inputs an amplifier, and spots the crushed channel at its input', () => {
    const findings = adviseBisect(base);
    expect(rules(findings)).toEqual(['outlier-channel', 'source-amplifier']);
    expect(findings[1].message).toContain(
      "runs in fp32 and computes exactly, yet fails at cosine 0.647000 while its input 'fuse_conv_out' (cosine 0.997053) passes",
    );
    expect(findings[0].message).toContain("'fuse_conv_out' has a tensor-wide cosine of 0.997053, but its channel 3 reaches only 0.469791");
  });

  it('calls an int8 culprit the source, and an overflowing fp16 culprit an fp16 overflow', () => {
    const int8 = adviseBisect({ ...base, inputs: [], culprit: { ...base.culprit!, node: 'conv', opType: 'Conv', precision: 'int8' } });
    expect(only(int8, 'source-amplifier').suggestion).toContain('--precision conv=int16');
    const fp16 = adviseBisect({
      ...base,
      inputs: [],
      culprit: {
        node: 'mean',
        opType: 'ReduceMean',
        tensor: 'mean_out',
        metrics: metrics({ infTest: 2, nonFiniteIntroduced: 2 }),
        precision: 'fp16',
      },
    });
    expect(rules(fp16)).toEqual(['fp16-overflow']);
  });

  it('reports a culprit that passes once its inputs are tapped as a tap perturbation', () => {
    expect(only(adviseBisect({ ...base, inputs: [], certificate: 'culprit-passed' }), 'tap-perturbation').message).toContain(
      'passes once its inputs are tapped too',
    );
  });

  it('is quiet on a passing output of no image shape', () => {
    expect(
      adviseBisect({
        ...base,
        outputs: [{ tensor: 'y', metrics: metrics(), pass: true }],
        culprit: null,
        inputs: [],
        certificate: null,
        perturbation: null,
      }),
    ).toEqual([]);
  });

  it('fix: the blind spot of a met cosine target suggests a PSNR target; an upstream region explains the amplifier', () => {
    const graph: AdviceGraph = { inputsOf: () => [], consumersOf: () => [], shapeOf: () => [1, 3, 64, 64] };
    const findings = adviseFix(
      {
        target: 'cosine>=0.999',
        outputs: [
          {
            tensor: 'image',
            metrics: metrics({ cosine: 0.999717, psnrDb: 36.56, snrDb: 32.48, rmse: 3.784, refRange: { min: 0.13, max: 254.5 } }),
            pass: true,
          },
        ],
        rounds: [
          {
            culprit: { node: 'norm', opType: 'InstanceNormalization', tensor: 'norm_out', metrics: metrics({ cosine: 0.64 }) },
            region: { reason: 'producers', changes: [{ node: 'conv', from: 'int8', to: 'int16' }] },
          },
        ],
      },
      { graph },
    );
    expect(rules(findings)).toEqual(['source-amplifier', 'metric-blind-spot']);
    expect(findings[1].suggestion).toContain('--target psnrDb>=40');
    expect(findings[0].suggestion).toContain("Fix promoted the producers instead ('conv')");
  });
});

describe('channelPeaks and valueStats', () => {
  it.each([
    { dims: [1, 2, 2], values: [1, -3, 2, 0.5], peaks: [3, 2] },
    { dims: [2, 2, 1], values: [1, 2, -4, 0], peaks: [4, 2] },
    { dims: [1, 2, 2], values: [Number.NaN, Infinity, -1, 2], peaks: [0, 2] },
  ])('peaks of $values in $dims', ({ dims, values, peaks }) => {
    expect(Array.from(channelPeaks(f32(dims, values)) as Float64Array)).toEqual(peaks);
  });

  it('has no channels below rank 2', () => {
    expect(channelPeaks(f32([3], [1, 2, 3]))).toBeNull();
  });

  it('mean and std of the finite values', () => {
    expect(valueStats(f32([5], [1, 2, 3, Number.NaN, 6]))).toEqual({ mean: 3, std: Math.sqrt(3.5) });
    expect(valueStats(f32([1], [Number.NaN])).mean).toBeNaN();
  });

  it('keeps every threshold in the one table', () => {
    expect(T.fp16Max).toBe(65504);
    expect(T.blindSpotPsnrDb).toBe(40);
  });
});
