/**
 * One benchmark figure: repeated samples of a quantity, summarized by median and spread, and
 * the target it is held to (if any). Ratios are computed pair by pair (sample i of the ratio is
 * numerator i over denominator i, both measured in the same repetition), never as a ratio of
 * medians, so a load spike that slows both sides of one pair cancels out.
 */

export type Comparator = '<=' | '>=';

export interface Target {
  readonly comparator: Comparator;
  readonly value: number;
  /** Where the target comes from, e.g. "DESIGN.md §8". */
  readonly source: string;
  /** Which summary the target is checked on: the median (default) or the worst sample. */
  readonly on?: 'median' | 'worst';
}

export interface Figure {
  /** Stable key, e.g. `compare.udnie.ratio-plain`. */
  readonly id: string;
  readonly section: string;
  readonly model: string | null;
  /** What was measured, in a few words. */
  readonly label: string;
  readonly unit: string;
  readonly samples: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly target: Target | null;
  /** Whether the median (or the worst sample, see Target.on) meets the target; null without a target. */
  readonly met: boolean | null;
  readonly note?: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface FigureSpec {
  readonly id: string;
  readonly section: string;
  readonly model?: string | null;
  readonly label: string;
  readonly unit: string;
  readonly target?: Target | null;
  readonly note?: string;
}

/** A figure from its samples (non-finite samples are kept in `samples` but make the summary NaN). */
export function figure(spec: FigureSpec, samples: readonly number[]): Figure {
  const m = median(samples);
  const target = spec.target ?? null;
  let met: boolean | null = null;
  if (target !== null && samples.length > 0) {
    const worst = target.comparator === '<=' ? Math.max(...samples) : Math.min(...samples);
    const checked = target.on === 'worst' ? worst : m;
    met = Number.isNaN(checked) ? null : target.comparator === '<=' ? checked <= target.value : checked >= target.value;
  }
  return {
    id: spec.id,
    section: spec.section,
    model: spec.model ?? null,
    label: spec.label,
    unit: spec.unit,
    samples: [...samples],
    median: m,
    min: samples.length > 0 ? Math.min(...samples) : Number.NaN,
    max: samples.length > 0 ? Math.max(...samples) : Number.NaN,
    target,
    met,
    ...(spec.note === undefined ? {} : { note: spec.note }),
  };
}

/** Pair-by-pair ratios: numerators[i] / denominators[i]. */
export function ratios(numerators: readonly number[], denominators: readonly number[]): number[] {
  if (numerators.length !== denominators.length) throw new RangeError(`ratio of ${numerators.length} samples over ${denominators.length}`);
  return numerators.map((n, i) => n / denominators[i]);
}

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `work` and returns its result with the wall time it took in ms. */
export async function timed<T>(work: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const start = nowMs();
  const value = await work();
  return { value, ms: nowMs() - start };
}

/** A section skipped as a whole or in part, with the reason printed and recorded. */
export interface Skip {
  readonly section: string;
  readonly reason: string;
}
