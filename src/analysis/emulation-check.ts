import { toFloat32, type Tensor } from '../core/tensor.js';

/**
 * The emulation self-check's arithmetic (DESIGN.md §4, "the plan is the truth"). The same QDQ
 * model runs twice: with graph optimizations disabled (a literal evaluation of the QDQ semantics,
 * fake quantization in float) and optimized (onnxruntime's integer kernels). Their difference at a
 * tensor, in units of that tensor's quantization step, is the emulation's own error.
 *
 * A tensor's step:
 * - stored at int8/int16: its scale (one code of its grid);
 * - stored at fp16: the fp16 spacing at its peak, 2^(floor(log2 peak) − 10);
 * - kept in fp32 (float ops of a profile that runs them in fp32, fused inner tensors, graph
 *   outputs of fp32 ops): one step of a grid of the plan's narrowest integer width spanning the
 *   tensor's peak, peak / 2^(bits − 1). Its error can only come from quantized tensors upstream,
 *   so it is judged on the scale those tensors are judged on.
 *
 * Tolerance: an integer kernel requantizes with a fixed-point or float multiplier and may round a
 * value that lies within float error of a half step the other way; that flips one code. Flipped
 * codes upstream move downstream tensors by a fraction of their step. So a tensor agrees when
 * its largest difference is at most `tolerance` steps (default 1). NaN or Inf on one side only
 * is always a mismatch; the same non-finite value on both sides counts as equal.
 */

/**
 * A one-code flip measured in float is step·(1 ± float error), and at INT16 that error reaches
 * 32767·2^-24 ≈ 0.002 of a step: differences are compared with 1% of slack so that one code counts
 * as one step (codes are integers, so the next possible difference is two steps).
 */
const STEP_SLACK = 1.01;

export type StepBasis = 'scale' | 'fp16' | 'peak';

export interface StepDifference {
  /** Elements compared. */
  readonly count: number;
  /** max |literal − optimized| over finite pairs. */
  readonly maxAbs: number;
  /** maxAbs / step (0 when both are 0; +Inf when the step is 0 and they differ). */
  readonly maxSteps: number;
  /** sqrt(mean((literal − optimized)²)) / step over finite pairs: the difference's RMS in steps. */
  readonly rmsSteps: number;
  /** Elements whose difference exceeds one step (with STEP_SLACK). */
  readonly overOneStep: number;
  /** Elements where exactly one side is NaN or ±Inf, or both are non-finite but differ. */
  readonly nonFiniteMismatch: number;
  /** Peak |literal| over finite values (the basis of fp16 and peak steps). */
  readonly peak: number;
}

export type EmulationVerdict = 'identical' | 'within' | 'mismatch';

/** The step of a tensor from its basis: `scale` for int8/int16 storage, else derived from the peak. */
export function stepOf(basis: StepBasis, scale: number | null, peak: number, bits: 8 | 16): number {
  if (basis === 'scale') return scale ?? 0;
  if (!(peak > 0) || !Number.isFinite(peak)) return 0;
  if (basis === 'fp16') return 2 ** (Math.floor(Math.log2(peak)) - 10);
  return peak / 2 ** (bits - 1);
}

/** Peak |x| over the finite values of a tensor (0 when none). */
export function finitePeak(t: Tensor): number {
  const x = toFloat32(t);
  let peak = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (Number.isFinite(a) && a > peak) peak = a;
  }
  return peak;
}

/**
 * Compares the literal and the optimized value of one tensor in units of `step` (see the module
 * comment). Throws nothing: a size mismatch is counted as one non-finite mismatch per missing
 * element, so it can never pass.
 */
export function stepDifference(literal: Tensor, optimized: Tensor, step: number): StepDifference {
  const a = toFloat32(literal);
  const b = toFloat32(optimized);
  const n = Math.min(a.length, b.length);
  let maxAbs = 0;
  let over = 0;
  let nonFinite = Math.abs(a.length - b.length);
  let peak = 0;
  let sumSq = 0;
  let finite = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    const fx = Number.isFinite(x);
    const fy = Number.isFinite(y);
    if (!fx || !fy) {
      if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) nonFinite++;
      continue;
    }
    const ax = Math.abs(x);
    if (ax > peak) peak = ax;
    const d = Math.abs(x - y);
    sumSq += d * d;
    finite++;
    if (d > maxAbs) maxAbs = d;
    if (d > step * STEP_SLACK) over++;
  }
  const maxSteps = maxAbs === 0 ? 0 : step > 0 ? maxAbs / step : Number.POSITIVE_INFINITY;
  const rms = finite > 0 ? Math.sqrt(sumSq / finite) : 0;
  const rmsSteps = rms === 0 ? 0 : step > 0 ? rms / step : Number.POSITIVE_INFINITY;
  return { count: Math.max(a.length, b.length), maxAbs, maxSteps, rmsSteps, overOneStep: over, nonFiniteMismatch: nonFinite, peak };
}

/** identical (bit for bit over finite values, same non-finite values), within tolerance, or mismatch. */
export function emulationVerdict(d: StepDifference, tolerance: number): EmulationVerdict {
  if (d.nonFiniteMismatch > 0) return 'mismatch';
  if (d.maxAbs === 0) return 'identical';
  return d.maxSteps <= tolerance * STEP_SLACK ? 'within' : 'mismatch';
}

export interface TensorEmulationCheck {
  readonly tensor: string;
  readonly node: string;
  readonly opType: string;
  /** How the QDQ model stores the tensor. */
  readonly storage: 'int8' | 'int16' | 'fp16' | 'fp32';
  readonly basis: StepBasis;
  readonly step: number;
  readonly difference: StepDifference;
  readonly verdict: EmulationVerdict;
}

/**
 * An output of the model without taps. Its difference carries every code flipped upstream, and a
 * deep network amplifies them (at INT16, fp32 accumulation decides the codes of values near a
 * half step, so the flips are frequent), so an output also passes when the error that matters
 * to the user does not depend on the evaluation: its SNR against the float model is the same
 * within DEPLOYED_MARGIN_DB for the literal and the optimized run. A runtime that saturated a
 * bias (52 dB literal, 16 dB optimized) fails this by far.
 */
export interface DeployedOutputCheck extends TensorEmulationCheck {
  /** SNR of the literal run's output against the float model. */
  readonly literalSnrDb: number;
  /** SNR of the optimized run's output against the float model. */
  readonly optimizedSnrDb: number;
}

/** How far the optimized output's SNR against float may stray from the literal one's, in dB. */
export const DEPLOYED_MARGIN_DB = 1;

/**
 * The verdict of a deployed output: its step verdict, or 'within' when only the steps disagree
 * and the SNRs against float of the literal and optimized runs agree within DEPLOYED_MARGIN_DB.
 */
export function deployedVerdict(
  steps: EmulationVerdict,
  d: StepDifference,
  literalSnrDb: number,
  optimizedSnrDb: number,
): EmulationVerdict {
  if (steps !== 'mismatch' || d.nonFiniteMismatch > 0) return steps;
  const agree = literalSnrDb === optimizedSnrDb || Math.abs(literalSnrDb - optimizedSnrDb) <= DEPLOYED_MARGIN_DB;
  return agree ? 'within' : 'mismatch';
}

export interface CheckResult {
  readonly model: string;
  readonly profile: string;
  readonly tolerance: number;
  /** Every tap of the tapped model (each tap a fusion boundary), in topological order. */
  readonly tensors: readonly TensorEmulationCheck[];
  /** The graph outputs of the model without taps: the model emit writes. */
  readonly deployed: readonly DeployedOutputCheck[];
  /** No tensor of either run is a mismatch. */
  readonly passes: boolean;
  /** Facts that explain differences the check accepts, one sentence each. */
  readonly notes: readonly string[];
}
