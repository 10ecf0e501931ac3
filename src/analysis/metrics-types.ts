/*
 * The shape of a comparison's result, below the modules that compute it (metrics.ts,
 * metrics-sample.ts) and those that judge it (metrics-target.ts), so none imports another in a
 * circle. metrics.ts re-exports these types.
 */

export interface ErrorPercentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  /** Present when the sample holds at least 1000 compared values. */
  readonly p999?: number;
}

export interface ValueRange {
  readonly min: number;
  readonly max: number;
}

/**
 * How far a test tensor y is from a reference tensor x. See `computeMetrics` for formulas and the
 * edge-case policy.
 */
export interface Metrics {
  readonly cosine: number;
  readonly mse: number;
  readonly rmse: number;
  readonly mae: number;
  readonly maxAbs: number;
  /** Coordinates (in the reference's dims) of the element with the largest |x−y|; [] when nothing was compared. */
  readonly maxAbsIndex: number[];
  readonly relL2: number;
  readonly maxRel: number;
  readonly meanRel: number;
  readonly snrDb: number;
  readonly psnrDb: number;
  readonly worstChannelCosine: number | null;
  readonly worstChannel: number | null;
  readonly nanRef: number;
  readonly nanTest: number;
  readonly infRef: number;
  readonly infTest: number;
  /** Elements where x is finite and y is NaN or ±Inf: any such element fails the tensor. */
  readonly nonFiniteIntroduced: number;
  readonly clipRatio: number | null;
  readonly fp16Overflow: number | null;
  readonly errorPercentiles: ErrorPercentiles;
  /** Range of the finite reference values; NaN..NaN when there are none. */
  readonly refRange: ValueRange;
  /** Range of the finite test values; NaN..NaN when there are none. */
  readonly testRange: ValueRange;
  /** Elements in the tensor. */
  readonly count: number;
  /** Element pairs where both x and y are finite: the denominator of every mean. */
  readonly compared: number;
}
