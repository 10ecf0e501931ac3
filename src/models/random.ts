/**
 * Deterministic pseudo-random numbers for generated weights. Only integer arithmetic and
 * `Math.sqrt` (correctly rounded by IEEE 754) are used, so the same seed gives the same bits on
 * every platform and Node version; transcendental functions (log, cos) are avoided on purpose.
 */

/** mulberry32: a 32-bit state generator returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units of a string: a stable 32-bit seed derived from a name. */
export function hashString(text: string, basis = 0x811c9dc5): number {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `count` values uniform in [-limit, limit), as float32. */
export function uniformArray(random: () => number, count: number, limit: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * random() - 1) * limit;
  return out;
}

/**
 * He-uniform initialisation: U(-√(6/fanIn), √(6/fanIn)), which keeps the variance of a
 * Relu network's activations roughly constant from layer to layer. `gain` scales the limit.
 */
export function heUniform(random: () => number, count: number, fanIn: number, gain = 1): Float32Array {
  return uniformArray(random, count, gain * Math.sqrt(6 / Math.max(1, fanIn)));
}
