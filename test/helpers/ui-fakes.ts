import type { ComparisonReport, ComparisonRow } from '../../src/analysis/comparison.js';
import type { Metrics } from '../../src/analysis/metrics.js';
import { CancelledError } from '../../src/core/errors.js';
import type { JobRunner } from '../../src/app/session/job-runner.js';
import type { JobEvent, JobOutcome, JobRequest } from '../../src/app/session/session-jobs.js';

/** Metrics with hand-picked values; everything not given is a perfect match. */
export function metrics(partial: Partial<Metrics> = {}): Metrics {
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
    clipRatio: 0,
    fp16Overflow: null,
    errorPercentiles: { p50: 0, p90: 0, p99: 0 },
    refRange: { min: -1, max: 1 },
    testRange: { min: -1, max: 1 },
    count: 16,
    compared: 16,
    ...partial,
  };
}

export function row(tensor: string, index: number, opType: string, cosine: number, extra: Partial<ComparisonRow> = {}): ComparisonRow {
  return {
    tensor,
    node: tensor.replace(/_out$/, ''),
    opType,
    index,
    shape: [1, 4, 2, 2],
    dtype: 'float32',
    metrics: metrics({ cosine, snrDb: cosine === 1 ? Infinity : 20 * cosine }),
    own: metrics({ cosine: Math.min(1, cosine + 0.001) }),
    verdict: 'follows',
    pass: cosine >= 0.99,
    ...extra,
  };
}

/** A report over three tensors of the demo model; the second fails first and is a source. */
export function demoReport(): ComparisonReport {
  const rows = [
    row('branch_concat_out', 16, 'Concat', 0.999862),
    row('fuse_norm_out', 18, 'InstanceNormalization', 0.66696, {
      verdict: 'source',
      own: metrics({ cosine: 0.665512 }),
      metrics: metrics({
        cosine: 0.66696,
        snrDb: 1.8,
        worstChannelCosine: 0.482272,
        worstChannel: 3,
        nanTest: 2,
        nonFiniteIntroduced: 2,
        clipRatio: 0.0125,
        errorPercentiles: { p50: 0.507, p90: 1.33, p99: 2.19, p999: 2.77 },
        maxAbs: 3.91,
        maxAbsIndex: [0, 3, 23, 9],
      }),
    }),
    row('image', 40, 'Add', 0.88167),
  ];
  return {
    schemaVersion: 1,
    model: 'demo-generator',
    profile: 'generic-int8',
    metric: 'cosine',
    threshold: 0.99,
    rows,
    firstFailing: 'fuse_norm_out',
    worstSource: 'fuse_norm_out',
    outputs: ['image'],
    perturbation: { output: 'image', metric: 'cosine', withTaps: 0.88167, withoutTaps: 0.88214 },
    achievable: { label: 'INT16 plan', value: 0.999949 },
  };
}

export interface ScriptedJob {
  readonly request: JobRequest;
  readonly emit: (event: JobEvent) => void;
  readonly finish: (outcome: JobOutcome) => void;
  readonly fail: (error: Error) => void;
  readonly signal: AbortSignal;
}

/** A runner whose jobs the test drives by hand: it sees each request and decides when it ends. */
export function scriptedRunner(): JobRunner & { jobs: ScriptedJob[] } {
  const jobs: ScriptedJob[] = [];
  return {
    jobs,
    run(request, onEvent, signal) {
      return new Promise<JobOutcome>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new CancelledError('cancelled by the test')), { once: true });
        jobs.push({ request, emit: onEvent, finish: resolve, fail: reject, signal });
      });
    },
    async dispose() {},
  };
}

/** Polls until the predicate holds (frames are rendered asynchronously). */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = 3000,
  lastFrame?: () => string | undefined,
): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}${lastFrame ? `; the screen:\n${lastFrame()}` : ''}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const KEYS = {
  up: '\x1b[A',
  down: '\x1b[B',
  pageDown: '\x1b[6~',
  pageUp: '\x1b[5~',
  home: '\x1b[H',
  end: '\x1b[F',
  enter: '\r',
  escape: '\x1b',
  tab: '\t',
  backspace: '\x7f',
} as const;
