import type { Dim } from '../core/graph.js';

/**
 * Arithmetic on dims that may be symbolic (a string) or unknown (null). A result is a number only
 * when it is certain; a symbol survives only the identity cases (x * 1, x + 0, broadcast with 1,
 * equal symbols), so two different symbols never mix.
 */

export function isNum(d: Dim | undefined): d is number {
  return typeof d === 'number';
}

/** A valid dim: a safe non-negative integer, a non-empty symbol, or null; anything else becomes null. */
export function cleanDim(d: unknown): Dim {
  if (typeof d === 'number') return Number.isSafeInteger(d) && d >= 0 ? d : null;
  if (typeof d === 'string') return d === '' ? null : d;
  return null;
}

/**
 * Numpy broadcasting of two dims. A 1 yields to the other side; a number other than 1 wins over a
 * symbol or an unknown (which must then equal it or be 1); equal symbols stay; anything else is
 * unknown. Two different numbers, neither 1, cannot broadcast: undefined.
 */
export function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === 1) return b;
  if (b === 1) return a;
  if (isNum(a) && isNum(b)) return a === b ? a : undefined;
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a === b ? a : null;
}

/** Multidirectional (numpy) broadcasting; null when a shape is unknown or the shapes clash. */
export function broadcastShapes(shapes: readonly (readonly Dim[] | null)[]): Dim[] | null {
  let out: Dim[] = [];
  for (const shape of shapes) {
    if (shape === null) return null;
    const rank = Math.max(out.length, shape.length);
    const next: Dim[] = [];
    for (let i = 0; i < rank; i++) {
      const a = out[i - (rank - out.length)] ?? 1;
      const b = shape[i - (rank - shape.length)] ?? 1;
      const d = broadcastDim(a, b);
      if (d === undefined) return null;
      next.push(d);
    }
    out = next;
  }
  return out;
}

/** Two dims that must be equal (Concat's other axes): the number if either is one, else a symbol. */
export function mergeDim(a: Dim, b: Dim): Dim {
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a ?? b;
}

/** The product of dims: a number when all are numbers; one symbol times ones stays that symbol. */
export function dimProduct(dims: readonly Dim[]): Dim {
  let n = 1;
  let symbol: string | null = null;
  for (const d of dims) {
    if (isNum(d)) n *= d;
    else if (d === null || symbol !== null) return null;
    else symbol = d;
  }
  if (symbol === null) return n;
  return n === 1 ? symbol : null;
}

export function mulDim(d: Dim, k: number): Dim {
  if (isNum(d)) return d * k;
  return k === 1 ? d : null;
}

export function addDim(d: Dim, k: number): Dim {
  if (isNum(d)) return d + k;
  return k === 0 ? d : null;
}

/** A possibly negative axis as an index into `rank` dims; undefined when out of range. */
export function normAxis(axis: number, rank: number): number | undefined {
  const a = axis < 0 ? axis + rank : axis;
  return Number.isInteger(a) && a >= 0 && a < rank ? a : undefined;
}

/** Normalized distinct axes, or undefined when one is out of range or repeated. */
export function normAxes(axes: readonly number[], rank: number): number[] | undefined {
  const out: number[] = [];
  for (const axis of axes) {
    const a = normAxis(axis, rank);
    if (a === undefined || out.includes(a)) return undefined;
    out.push(a);
  }
  return out;
}

/** Ranks beyond this are treated as unknown: it keeps a corrupt shape input from allocating huge arrays. */
export const MAX_RANK = 64;

/** `n` unknown dims. */
export function unknownDims(n: number): Dim[] {
  return Array.from({ length: Math.min(Math.max(0, n), MAX_RANK) }, () => null);
}

/** The length of a 1-D tensor of the given shape (a shape input whose values are unknown). */
export function lengthOf(shape: readonly Dim[] | null): number | undefined {
  return shape?.length === 1 && isNum(shape[0]) && shape[0] <= MAX_RANK ? shape[0] : undefined;
}

/**
 * Reshape's target resolved against the input: 0 copies the input dim at that index (unless
 * allowzero), and one -1 takes what is left. The -1 is solved from the numeric products after
 * cancelling the symbols that appear on both sides ([N,3,4] to [0,-1] gives [N,12]); it is null
 * when an unknown dim is involved or the sizes do not divide. An invalid target gives null.
 */
export function reshapeDims(input: readonly Dim[] | null, target: readonly Dim[], allowZero: boolean): Dim[] | null {
  const out: Dim[] = target.map((t, i) => (t === 0 && !allowZero ? (input ? (input[i] ?? null) : null) : t));
  const free = out.flatMap((d, i) => (d === -1 ? [i] : []));
  if (free.length > 1 || out.some((d) => isNum(d) && d < -1)) return null;
  if (free.length === 0) return out;
  out[free[0]] = input
    ? solveFree(
        input,
        out.filter((_, i) => i !== free[0]),
      )
    : null;
  return out;
}

function solveFree(input: readonly Dim[], rest: readonly Dim[]): Dim {
  const symbols: string[] = [];
  let inNum = 1;
  for (const d of input) {
    if (d === null) return null;
    if (isNum(d)) inNum *= d;
    else symbols.push(d);
  }
  let outNum = 1;
  for (const d of rest) {
    if (d === null) return null;
    if (isNum(d)) outNum *= d;
    else {
      const k = symbols.indexOf(d);
      if (k < 0) return null;
      symbols.splice(k, 1);
    }
  }
  if (symbols.length === 0) return outNum > 0 && inNum % outNum === 0 ? inNum / outNum : null;
  return symbols.length === 1 && inNum === outNum ? symbols[0] : null;
}
