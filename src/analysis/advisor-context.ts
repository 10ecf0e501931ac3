import type { Verdict } from './comparison.js';
import type { MetricName, Metrics, ValueRange } from './metrics.js';

/**
 * What the advisor's rules read: observed tensors (a compare's rows, a bisect's culprit and
 * outputs) and facts the use-case knows about the graph, the calibration and the reference
 * values. Everything is optional beyond the observations: a rule that lacks its facts stays quiet
 * or says less.
 */

/** One compared tensor. */
export interface Observation {
  readonly tensor: string;
  /** Producing node ('' for a graph input or unknown). */
  readonly node: string;
  readonly opType: string;
  /** Topological index (-1 unknown). */
  readonly index: number;
  readonly shape?: readonly number[];
  /** Accumulated error. */
  readonly metrics: Metrics;
  /** Own error (only the producing node quantized). */
  readonly own?: Metrics | null;
  readonly verdict?: Verdict | null;
  /** Whether the tensor is a graph output. */
  readonly output: boolean;
  /** The producing node's precision when known ('int8', 'int16', 'fp16', 'fp32'). */
  readonly precision?: string;
}

/** The graph around a tensor. */
export interface AdviceGraph {
  /** The activation tensors (no initializers) the producer of `tensor` reads; [] for a graph input. */
  inputsOf(tensor: string): readonly string[];
  /** The nodes reading `tensor`. */
  consumersOf(tensor: string): readonly { readonly name: string; readonly opType: string }[];
  /** The node producing `tensor`; undefined for a graph input. */
  producerOf?(tensor: string): { readonly name: string; readonly opType: string } | undefined;
  /**
   * The precision a node would be promoted to under the run's plan (`int16` for a quantized op at
   * int8, `fp32` for a float op at fp16), null when nothing is left to promote. Suggestions of
   * `--precision NODE=…` use it, so every one is a command the tool accepts.
   */
  promotionOf?(node: string): 'int16' | 'a16w8' | 'fp32' | 'int8' | 'fp16' | null;
  /** The tensor's shape when known (inferred from the model). */
  shapeOf?(tensor: string): readonly number[] | undefined;
}

/** How the calibration was made, and each tensor's ranges. */
export interface CalibrationFacts {
  readonly method: string;
  readonly percentile: number | null;
  readonly samples: number;
  /** The calibration inputs (files or descriptions). */
  readonly sources: readonly string[];
  /** `used`: the range quantization uses at the tensor's width; `observed`: the extremes seen on the calibration inputs. */
  rangeOf(tensor: string): { readonly used?: ValueRange; readonly observed: ValueRange } | undefined;
}

/** Mean and standard deviation of a reference tensor's finite values. */
export interface ValueStats {
  readonly mean: number;
  readonly std: number;
}

export interface Criterion {
  readonly metric: MetricName;
  readonly threshold: number;
}

export interface AdviceFacts {
  readonly criterion: Criterion;
  /** The report the findings end: suggestions to run `quantscope fix` are left out of fix's own. */
  readonly use?: 'compare' | 'bisect' | 'fix';
  readonly graph?: AdviceGraph;
  readonly calibration?: CalibrationFacts;
  /** Peak |x| per channel (axis 1) of reference tensors. */
  readonly channelPeaks?: ReadonlyMap<string, Float64Array>;
  /** Mean and spread of reference outputs. */
  readonly outputStats?: ReadonlyMap<string, ValueStats>;
}
