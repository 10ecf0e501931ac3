import type { ComparisonReport, TapPerturbation } from '../../analysis/comparison.js';
import type { MetricName } from '../../analysis/metrics-target.js';
import type { Override } from '../../quant/plan.js';
import type { ProgressEvent } from '../events.js';
import type { SessionSettings } from './session.js';

/**
 * The long-running work of an interactive session, as plain serializable data: a request goes
 * in, events come out while it runs, an outcome comes back. The same request runs in-process
 * (tests) or in a worker thread (the TUI), see job-runner.ts.
 */
export type JobKind = 'compare' | 'bisect' | 'fix' | 'emit';

export interface JobRequest {
  readonly kind: JobKind;
  /** The session's precision edits, applied after the plan file and `--precision` flags. */
  readonly edits: readonly Override[];
  /** compare: the tensors to tap (exact names); none means every tensor, as `compare` without `--taps`. */
  readonly taps?: readonly string[];
  /** emit: the output directory (default beside the model). */
  readonly outDir?: string;
  /** The settings to run with (session-settings.ts); none: those the runner's session runs with now. */
  readonly settings?: SessionSettings;
}

/** What a probe row is: a bisect probe (search or certificate), an evaluation of a plan, or a promotion of fix. */
export type ProbeKind = 'search' | 'certificate' | 'evaluate' | 'promote';

/** How a value is held to a threshold: `≥` for cosine, SNR and PSNR, `≤` for the errors. */
export type Comparison = '≥' | '≤';

/** One node of a region, with its precision before and after a promotion. */
export interface RegionNode {
  readonly node: string;
  readonly opType: string;
  readonly from: string;
  readonly to: string;
}

/**
 * One probe of a bisect or fix search, as the screens show it. Every row carries the condition
 * it was judged by (`metric`, `comparison`, `threshold`), so a screen can print
 * `snrDb 24.1 < 30 FAIL`; a row without a value says why in `reason`.
 */
export interface ProbeView {
  /** 1-based probe number: one per quant run (a certificate run lists several tensors under one number). */
  readonly step: number;
  /** The candidate range still in play when the probe was chosen, e.g. `12..40`. */
  readonly range: string;
  readonly tensor: string;
  readonly node: string;
  readonly opType: string;
  readonly kind: ProbeKind;
  readonly metric: MetricName;
  /** The metric at the probe; null when the probe produced no value (see reason). */
  readonly value: number | null;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly pass: boolean | null;
  /** Why the value is missing, NaN, or not what the verdict rests on (NaN/Inf introduced). */
  readonly reason?: string;
  /** What the probe was for, when not a plain bisection step ("certificate", "promote conv3"...). */
  readonly note?: string;
  /** promote: the region promoted, node by node. */
  readonly region?: readonly RegionNode[];
  /** promote: the outputs' value of `metric` (on the worst output and input) before the promotion; `value` is after it. */
  readonly before?: number | null;
}

export type JobEvent = ProgressEvent | { readonly type: 'probe'; readonly probe: ProbeView };

export interface MeasuredTensor {
  readonly tensor: string;
  readonly value: number | null;
  readonly pass: boolean;
}

/** The counts behind a bisect, each named for what it counts; the screen and the summary use these. */
export interface BisectCounts {
  /** Probe rows listed: one per tensor measured (a certificate run lists the culprit and its inputs). */
  readonly listed: number;
  /** Quant runs with taps: one per probe step. */
  readonly probeRuns: number;
  /** Quant runs of the bisected input: the run without taps that measures the outputs, plus the probe runs. */
  readonly quantRuns: number;
  /** With several evaluation inputs, the runs that measured each input's outputs to choose the worst (apart from quantRuns). */
  readonly evaluationRuns: number;
  readonly candidates: number;
  /** ⌈log2 candidates⌉ + 2 quant runs (DESIGN.md §8). */
  readonly runBudget: number;
}

/** The culprit's kernel: the nodes it is fused with under the plan, and what the suggested plan promotes. */
export interface CulpritRegion {
  /** The culprit's fusion group in chain order, the culprit included; just the culprit when it runs alone. */
  readonly fused: readonly { readonly node: string; readonly opType: string }[];
  /** `culprit`: its own kernel is promoted; `producers`: it has nothing to promote, the kernels feeding it are. */
  readonly reason: 'culprit' | 'producers' | 'none';
  readonly promotes: readonly RegionNode[];
  /** One sentence, e.g. "culprit fuse_norm (InstanceNormalization) is fused with fuse_conv (Conv), fuse_relu (Relu); the plan promotes the fused region's fuse_conv (Conv) int8→int16". */
  readonly text: string;
}

export interface BisectView {
  readonly metric: MetricName;
  readonly threshold: number;
  readonly comparison: Comparison;
  /** null when every candidate passed. */
  readonly culprit: { readonly node: string; readonly opType: string; readonly tensor: string } | null;
  readonly output: MeasuredTensor | null;
  readonly inputs: readonly MeasuredTensor[];
  /** Probe rows listed (counts.listed), what the probe list shows. */
  readonly probes: number;
  readonly counts: BisectCounts;
  /** The culprit's fused region; null when there is no culprit. */
  readonly region: CulpritRegion | null;
  readonly perturbation: TapPerturbation | null;
  /** Why the probes' threshold differs from the gate's, when it does (bisect searches at what the failing output needs). */
  readonly searchNote?: string;
  /** One sentence: what was found and how sure, with the counts. */
  readonly summary: string;
  /** The overrides that promote the culprit's region (empty when there is no culprit). */
  readonly suggested: readonly Override[];
}

export interface FixView {
  /** The metric the outputs are shown in: the target's condition furthest from holding. */
  readonly metric: MetricName;
  /** The target as `--target` text (every condition must hold). */
  readonly goal: string;
  readonly reached: boolean;
  /** The overrides of the plan found (to apply in the session). */
  readonly overrides: readonly Override[];
  readonly promoted: readonly string[];
  /** Shares (0..1) of multiply-accumulates and of weight bytes above INT8; null when unknown. */
  readonly macShare: number | null;
  readonly weightShare: number | null;
  readonly outputs: readonly MeasuredTensor[];
  readonly summary: string;
}

export interface EmitView {
  readonly files: readonly { readonly role: string; readonly path: string }[];
  readonly verified: boolean;
  readonly checks: readonly string[];
  readonly summary: string;
}

export type JobOutcome =
  | { readonly kind: 'compare'; readonly report: ComparisonReport; readonly taps: readonly string[] }
  | { readonly kind: 'bisect'; readonly result: BisectView }
  | { readonly kind: 'fix'; readonly result: FixView }
  | { readonly kind: 'emit'; readonly result: EmitView };
