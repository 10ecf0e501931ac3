/**
 * Running statistics of one tensor over the calibration inputs (DESIGN.md §5): exact min and max,
 * counts, and a histogram, so no batch of values needs to be kept.
 *
 * Histogram: HISTOGRAM_BINS = 4096 equal bins over [−a, a), where `a` (the `range`) is the
 * smallest power of two strictly above max |x| seen so far (at least MIN_RANGE). Bin k covers
 * [−a + k·w, −a + (k+1)·w) with w = 2a / 4096; 0 is the edge between bins 2047 and 2048. When a
 * batch holds a value with |x| ≥ a, `a` is doubled until it is above it and each run of 2^j old
 * bins is merged into one new bin (bin edges stay aligned, so nothing is approximated). Because `a` is a power of two and
 * merging is exact, the final histogram depends only on the multiset of values, not on the batch
 * order or on how stats were merged. The resolution is 1024 to 2048 bins per sign over the data.
 *
 * Edge-case policy: NaN and ±Inf are counted (nanCount, infCount) and otherwise ignored, so the
 * range reflects the finite values. Values are also kept exactly while count ≤ EXACT_LIMIT, so
 * percentiles of tiny tensors are exact. Counts and sums are float64.
 */
export const HISTOGRAM_BINS = 4096;
export const EXACT_LIMIT = 2048;
export const MIN_RANGE = 2 ** -64;

const HALF = HISTOGRAM_BINS / 2;

/** The smallest power of two strictly above v, and at least MIN_RANGE. */
export function powerOfTwoAbove(v: number): number {
  if (!(v >= MIN_RANGE)) return MIN_RANGE;
  let p = 2 ** Math.ceil(Math.log2(v));
  while (p <= v) p *= 2;
  while (p / 2 > v) p /= 2;
  return p;
}

function isPowerOfTwo(v: number): boolean {
  return v > 0 && Number.isInteger(Math.log2(v));
}

export interface TensorStatsJSON {
  readonly version: 1;
  readonly name: string;
  readonly count: number;
  readonly nanCount: number;
  readonly infCount: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly sum: number;
  readonly sumSquares: number;
  readonly range: number;
  /** Histogram bins from `offset` on; the bins before and after are zero. */
  readonly offset: number;
  readonly counts: readonly number[];
  readonly exact: readonly number[] | null;
}

export class TensorStats {
  readonly name: string;
  private finite = 0;
  private nans = 0;
  private infs = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private total = 0;
  private totalSquares = 0;
  private a = 0;
  private readonly bins = new Float64Array(HISTOGRAM_BINS);
  private exact: number[] | null = [];

  constructor(name = '') {
    this.name = name;
  }

  /** Finite values seen. */
  get count(): number {
    return this.finite;
  }
  get nanCount(): number {
    return this.nans;
  }
  get infCount(): number {
    return this.infs;
  }
  /** Smallest finite value (+Infinity before any). */
  get min(): number {
    return this.lo;
  }
  /** Largest finite value (−Infinity before any). */
  get max(): number {
    return this.hi;
  }
  get maxAbs(): number {
    return this.finite === 0 ? 0 : Math.max(Math.abs(this.lo), Math.abs(this.hi));
  }
  get mean(): number {
    return this.finite === 0 ? NaN : this.total / this.finite;
  }
  /** Population standard deviation. */
  get std(): number {
    if (this.finite === 0) return NaN;
    const m = this.total / this.finite;
    return Math.sqrt(Math.max(0, this.totalSquares / this.finite - m * m));
  }
  /** Half-width `a` of the histogram, which covers [−a, a]; 0 before any finite value. */
  get range(): number {
    return this.a;
  }
  get binWidth(): number {
    return (2 * this.a) / HISTOGRAM_BINS;
  }
  /** The signed histogram (a live view: do not modify). */
  get histogram(): Float64Array {
    return this.bins;
  }
  /** Every finite value seen, in arrival order, while count ≤ EXACT_LIMIT; null after. */
  get exactValues(): readonly number[] | null {
    return this.exact;
  }

  /**
   * The histogram of |x|: HISTOGRAM_BINS / 2 bins over [0, a], bin k covering |x| in
   * [k·w, (k+1)·w) (the signed bins 2048 + k and 2047 − k folded together).
   */
  absHistogram(): Float64Array {
    const out = new Float64Array(HALF);
    for (let k = 0; k < HALF; k++) out[k] = this.bins[HALF + k] + this.bins[HALF - 1 - k];
    return out;
  }

  update(values: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    let finite = 0;
    let nans = 0;
    let infs = 0;
    let sum = 0;
    let squares = 0;
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const x = values[i];
      if (x - x !== 0) {
        if (x !== x) nans++;
        else infs++;
        continue;
      }
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      sum += x;
      squares += x * x;
      finite++;
    }
    this.nans += nans;
    this.infs += infs;
    if (finite === 0) return;
    this.growTo(Math.max(Math.abs(lo), Math.abs(hi)));
    const perUnit = HISTOGRAM_BINS / (2 * this.a);
    const bins = this.bins;
    for (let i = 0; i < n; i++) {
      const x = values[i];
      if (x - x !== 0) continue;
      // floor before adding HALF: a tiny negative value must not round up into bin HALF.
      bins[Math.floor(x * perUnit) + HALF]++;
    }
    if (this.exact !== null) {
      if (this.finite + finite > EXACT_LIMIT) {
        this.exact = null;
      } else {
        for (let i = 0; i < n; i++) {
          const x = values[i];
          if (x - x === 0) this.exact.push(x);
        }
      }
    }
    this.finite += finite;
    this.total += sum;
    this.totalSquares += squares;
    if (lo < this.lo) this.lo = lo;
    if (hi > this.hi) this.hi = hi;
  }

  /** Widens the histogram so that |v| < a. */
  private growTo(v: number): void {
    this.growToRange(powerOfTwoAbove(v));
  }

  /** Sets `a` to the power of two `target` if that is wider, merging runs of target / a bins. */
  private growToRange(target: number): void {
    if (this.a === 0) {
      this.a = target;
      return;
    }
    if (target <= this.a) return;
    const factor = target / this.a;
    const merged = new Float64Array(HISTOGRAM_BINS);
    for (let k = 0; k < HISTOGRAM_BINS; k++) {
      if (this.bins[k] !== 0) merged[HALF + Math.floor((k - HALF) / factor)] += this.bins[k];
    }
    this.bins.set(merged);
    this.a = target;
  }

  /** Adds another tensor's statistics into this one (exactly; see the module comment). */
  absorb(other: TensorStats): void {
    this.nans += other.nans;
    this.infs += other.infs;
    if (other.finite === 0) return;
    this.growToRange(other.a);
    const factor = this.a / other.a;
    for (let k = 0; k < HISTOGRAM_BINS; k++) {
      if (other.bins[k] !== 0) this.bins[HALF + Math.floor((k - HALF) / factor)] += other.bins[k];
    }
    this.exact =
      this.exact !== null && other.exact !== null && this.finite + other.finite <= EXACT_LIMIT ? [...this.exact, ...other.exact] : null;
    this.finite += other.finite;
    this.total += other.total;
    this.totalSquares += other.totalSquares;
    if (other.lo < this.lo) this.lo = other.lo;
    if (other.hi > this.hi) this.hi = other.hi;
  }

  clone(name = this.name): TensorStats {
    const copy = new TensorStats(name);
    copy.absorb(this);
    return copy;
  }

  toJSON(): TensorStatsJSON {
    let first = 0;
    let last = HISTOGRAM_BINS - 1;
    while (first < HISTOGRAM_BINS && this.bins[first] === 0) first++;
    while (last >= first && this.bins[last] === 0) last--;
    return {
      version: 1,
      name: this.name,
      count: this.finite,
      nanCount: this.nans,
      infCount: this.infs,
      min: this.finite === 0 ? null : this.lo,
      max: this.finite === 0 ? null : this.hi,
      sum: this.total,
      sumSquares: this.totalSquares,
      range: this.a,
      offset: first < HISTOGRAM_BINS ? first : 0,
      counts: first < HISTOGRAM_BINS ? [...this.bins.subarray(first, last + 1)] : [],
      exact: this.exact === null ? null : [...this.exact],
    };
  }

  /** Rebuilds stats written by toJSON; throws a RangeError for inconsistent data. */
  static fromJSON(json: TensorStatsJSON): TensorStats {
    const s = new TensorStats(json.name);
    const ok =
      json.version === 1 &&
      json.offset >= 0 &&
      json.offset + json.counts.length <= HISTOGRAM_BINS &&
      (json.count === 0 || isPowerOfTwo(json.range));
    if (!ok) throw new RangeError(`calibration statistics for '${json.name}' are inconsistent`);
    s.finite = json.count;
    s.nans = json.nanCount;
    s.infs = json.infCount;
    s.lo = json.min ?? Infinity;
    s.hi = json.max ?? -Infinity;
    s.total = json.sum;
    s.totalSquares = json.sumSquares;
    s.a = json.range;
    s.bins.set(json.counts, json.offset);
    s.exact = json.exact === null ? null : [...json.exact];
    return s;
  }
}

/** The combined statistics of two tensors (or of one tensor over two input sets); a and b are unchanged. */
export function mergeStats(a: TensorStats, b: TensorStats): TensorStats {
  const merged = a.clone();
  merged.absorb(b);
  return merged;
}
