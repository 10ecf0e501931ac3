import type { Override } from '../quant/plan.js';

/** Whether two edit lists are the same plan (same specs and precisions, in any order). */
export function sameEdits(a: readonly Override[], b: readonly Override[]): boolean {
  if (a.length !== b.length) return false;
  const key = (list: readonly Override[]): string =>
    list
      .map(([s, p]) => `${s}\u0000${p}`)
      .sort()
      .join('\u0001');
  return key(a) === key(b);
}
