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
  /** compare: the tensors to tap (exact names); none means the graph outputs. */
  readonly taps?: readonly string[];
  /** emit: the output directory (default beside the model). */
  readonly outDir?: string;
  /** The settings to run with (session-settings.ts); none: those the runner's session runs with now. */
  readonly settings?: SessionSettings;
}

/** One probe of a bisect or fix search, as the screens show it. */
export interface ProbeView {
  /** 1-based probe number. */
  readonly step: number;
  /** The candidate range still in play when the probe was chosen, e.g. `12..40`. */
  readonly range: string;
  readonly tensor: string;
  readonly node: string;
  readonly opType: string;
  readonly metric: MetricName;
  /** The metric at the probe; null when the probe produced no value. */
  readonly value: number | null;
  readonly pass: boolean | null;
  /** What the probe was for, when not a plain bisection step ("certificate", "promote conv3"...). */
  readonly note?: string;
}

export type JobEvent = ProgressEvent | { readonly type: 'probe'; readonly probe: ProbeView };

export interface MeasuredTensor {
  readonly tensor: string;
  readonly value: number | null;
  readonly pass: boolean;
}

export interface BisectView {
  readonly metric: MetricName;
  readonly threshold: number;
  /** null when every candidate passed. */
  readonly culprit: { readonly node: string; readonly opType: string; readonly tensor: string } | null;
  readonly output: MeasuredTensor | null;
  readonly inputs: readonly MeasuredTensor[];
  readonly probes: number;
  readonly perturbation: TapPerturbation | null;
  /** One sentence: what was found and how sure. */
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
