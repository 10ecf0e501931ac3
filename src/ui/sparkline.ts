/** One character of a sparkline; `failing` marks a cell that covers a failing row. */
export interface SparkCell {
  readonly char: string;
  readonly failing: boolean;
}

const LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export interface SparklineOptions {
  /** Maximum cells; rows are bucketed when there are more. */
  readonly width: number;
  /** Larger values are better (cosine, SNR): a bucket shows its smallest value, else its largest. */
  readonly higherIsBetter: boolean;
  /** Scale heights by log10 (for error metrics spanning decades); used only when every finite value is > 0. */
  readonly log?: boolean;
}

/**
 * A sparkline of a metric along depth: one cell per row, or per bucket of consecutive rows when
 * there are more rows than `width` (a bucket shows its worst value and fails if any row in it
 * fails). Heights are linear (or log10) between the smallest and largest finite value shown;
 * +Inf is the top, −Inf the bottom, NaN `×`, a row without a value `·`. All equal: the top level.
 */
export function sparkline(values: readonly (number | null)[], fails: readonly boolean[], options: SparklineOptions): SparkCell[] {
  const n = values.length;
  if (n === 0 || options.width <= 0) return [];
  const cells = Math.min(n, options.width);
  const bucketValues: (number | null)[] = [];
  const bucketFails: boolean[] = [];
  for (let c = 0; c < cells; c++) {
    const from = Math.floor((c * n) / cells);
    const to = Math.floor(((c + 1) * n) / cells);
    let worst: number | null = null;
    let failing = false;
    for (let i = from; i < to; i++) {
      failing ||= fails[i] === true;
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (worst === null || Number.isNaN(v) || (!Number.isNaN(worst) && (options.higherIsBetter ? v < worst : v > worst))) worst = v;
    }
    bucketValues.push(worst);
    bucketFails.push(failing);
  }
  const finite = bucketValues.filter((v): v is number => v !== null && Number.isFinite(v));
  const useLog = options.log === true && finite.length > 0 && finite.every((v) => v > 0);
  const scaled = (v: number): number => (useLog ? Math.log10(v) : v);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of finite) {
    const s = scaled(v);
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return bucketValues.map((v, i) => ({ char: levelChar(v, lo, hi, scaled), failing: bucketFails[i] }));
}

function levelChar(v: number | null, lo: number, hi: number, scaled: (v: number) => number): string {
  if (v === null) return '·';
  if (Number.isNaN(v)) return '×';
  if (v === Infinity) return LEVELS[LEVELS.length - 1];
  if (v === -Infinity) return LEVELS[0];
  if (!(hi > lo)) return LEVELS[LEVELS.length - 2];
  const t = (scaled(v) - lo) / (hi - lo);
  return LEVELS[Math.min(LEVELS.length - 1, Math.max(0, Math.round(t * (LEVELS.length - 1))))];
}
