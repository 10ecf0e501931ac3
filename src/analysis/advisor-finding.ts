/**
 * What the advisor says: one finding per recognised cause, in plain words with the run's own
 * tensor names and numbers. Reports carry them as `findings` (JSON: rule, severity, tensors,
 * message, suggestion).
 */

/** The causes the advisor recognises, in the order a report lists them. */
export const ADVISOR_RULES = [
  'inputs-differ',
  'reference-non-finite',
  'fp16-overflow',
  'calibration-mismatch',
  'clipping',
  'outlier-channel',
  'source-amplifier',
  'tap-perturbation',
  'metric-blind-spot',
] as const;
export type AdvisorRule = (typeof ADVISOR_RULES)[number];

/** `error`: the results cannot be trusted or a tensor is broken; `warning`: a cause to act on; `info`: worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  readonly rule: AdvisorRule;
  readonly severity: Severity;
  /** The tensors the finding is about, most important first. */
  readonly tensors: readonly string[];
  /** What went wrong, naming tensors and the numbers measured. */
  readonly message: string;
  /** What to do next. */
  readonly suggestion: string;
}
