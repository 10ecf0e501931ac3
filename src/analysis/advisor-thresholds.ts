/**
 * Every threshold the advisor judges by, in one table, each with where its value comes from.
 * Ratios are plain factors; dB values are 10·log10 of an error-power ratio.
 */
export const ADVISOR_THRESHOLDS = {
  /**
   * Relative L2 distance (‖y−x‖/‖x‖) below which two graph inputs count as the same. The same
   * pixels preprocessed in float32 by two programs agree to about 1e-7; an input dumped in fp16
   * differs by at most 2^-11 ≈ 4.9e-4. Anything above 1e-3 is a different input.
   */
  inputsEqualRelL2: 1e-3,
  /**
   * Relative L2 residual under which a transform (channel order, layout, scale, offset) counts as
   * explaining the test input: the same tolerance as inputsEqualRelL2, applied after the transform.
   */
  transformResidual: 1e-3,
  /** Largest finite float16 value (IEEE 754 binary16); above it fp16 storage holds infinity. */
  fp16Max: 65504,
  /**
   * A quantized tensor's clip ratio is high from 1%: percentile calibration at its default
   * 99.99 clips 0.01% of the calibration values by design, so 100 times that means the range
   * misses a real part of the distribution. Measured on udnie at 720x720 (calibrated on three
   * other photographs): at most 0.015%.
   */
  clipRatio: 0.01,
  /**
   * At least this many clipped elements: a few values of a tiny tensor (10 logits, 16 pooled
   * statistics) make a large ratio that says nothing (2 of 10 logits is 20%).
   */
  clipMinElements: 16,
  /**
   * A tensor's evaluation values reach "far" beyond its calibrated interval when they overshoot it
   * by at least its own width (the evaluation range is at least twice as wide). Measured on udnie
   * (fish_720 against cat/dog/hummingbird): at most 0.04 of the width.
   */
  rangeExcess: 1,
  /**
   * Calibration mismatch is systematic: at least a quarter of the calibrated tensors overshoot
   * by far. A single tensor that does is reported as clipping.
   */
  mismatchShare: 0.25,
  /**
   * A channel owns a tensor's range when its peak |x| is at least 10 times the median channel's:
   * one per-tensor INT8 scale then leaves the median channel at most 12 of the 127 positive
   * levels (under 4 bits). Natural spread measured on udnie's activations: 1.0x to 4.5x; the
   * planted outliers of the demo model and the outlier-channel fixture: 349x and 487x.
   */
  outlierRangeRatio: 10,
  /**
   * Without per-channel peaks (bisect, fix), the worst channel counts as crushed when its error
   * (1 − cosine) is at least 30 times the tensor's. Measured on udnie's activations: at most
   * 8.4x; the demo model's planted hazard: 165x.
   */
  channelErrorRatio: 30,
  /**
   * A per-channel cosine counts from 16 values per channel: over a pooled [1,C,1,1] tensor each
   * channel is one number, whose cosine is 1, 0 or −1 by its sign alone (opset13-convnet's
   * GlobalAveragePool shows a channel "at 0.000000" that way).
   */
  channelMinElements: 16,
  /** The per-channel cosine a channel must reach when the report gates on another metric (DESIGN.md §5 default). */
  channelCosine: 0.99,
  /**
   * The taps moved an output materially when its error power changed by 3 dB (a factor of 2)
   * or its verdict flipped. Measured on @all compares: udnie 1.3 dB, conv-in-relu (int8-fp16) 2.1 dB.
   */
  perturbationDb: 3,
  /**
   * PSNR below which an image-like output is visibly off: 8-bit image codecs count 40 dB and
   * above as visually lossless. udnie under generic-int8 reaches 38.9-39.7 dB with cosine 0.9997;
   * under an all-INT16 plan 82 dB.
   */
  blindSpotPsnrDb: 40,
  /**
   * A common offset dominates when |mean| >= standard deviation (it holds half the signal
   * energy or more); then cosine, which compares directions, barely sees the error.
   */
  offsetToSpread: 1,
  /**
   * Without the mean (bisect, fix), a tensor counts as offset when it is mostly one-signed: its
   * smaller side reaches at most a quarter of its larger side (udnie's output: −38..271, 0.14).
   */
  oneSidedShare: 0.25,
  /** Tensors named in one message; the finding's `tensors` list holds them all. */
  namedInMessage: 3,
} as const;

export type AdvisorThresholds = typeof ADVISOR_THRESHOLDS;
