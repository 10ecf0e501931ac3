import type { Shape } from './shapes.js';

/** In-place edits of drawn weights, used to plant faults at exact places. */

/**
 * A weight edit for Conv-shaped weights [cout, cin, kh, kw]: output channel `o` keeps only the
 * input channels `reads(o)` lists (the others become exactly zero, which every quantizer keeps
 * exact) and those weights are multiplied by `scale(o)`.
 */
export function restrictInputs(
  reads: (o: number) => readonly number[],
  scale: (o: number) => number = () => 1,
): (w: Float32Array, dims: Shape) => void {
  return (w, dims) => {
    const [cout, cin] = dims;
    const k = dims.slice(2).reduce((a, b) => a * b, 1);
    for (let o = 0; o < cout; o++) {
      const keep = new Set(reads(o));
      const s = scale(o);
      for (let i = 0; i < cin; i++) {
        for (let j = 0; j < k; j++) {
          const at = (o * cin + i) * k + j;
          w[at] = keep.has(i) ? w[at] * s : 0;
        }
      }
    }
  };
}

/** A weight (or bias) edit multiplying output channel `o`'s values by `factors[o]` (missing: 1). */
export function scaleOutputChannels(factors: Readonly<Record<number, number>>): (w: Float32Array, dims?: Shape) => void {
  return (w, dims) => {
    const cout = dims ? dims[0] : w.length;
    const per = w.length / cout;
    for (const [o, f] of Object.entries(factors)) {
      for (let j = 0; j < per; j++) w[Number(o) * per + j] *= f;
    }
  };
}

/** Integers from `start` (inclusive) to `end` (exclusive). */
export function range(start: number, end: number): number[] {
  return Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
}
