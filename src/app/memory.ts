import { UserError } from '../core/errors.js';

/** The default memory budget for tapped tensors of one backend run (see groupBySize). */
export const DEFAULT_MAX_MEMORY = 256 * 1024 * 1024;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Parses `512MB`, `1.5G`, `300000000` (bytes); binary units. */
export function parseSize(text: string, flag = '--max-memory'): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UserError(`${flag} '${text}' is not a size; write it like 512MB or 1.5GB.`);
  const bytes = Number(m[1]) * unit;
  if (!(bytes >= 1024 * 1024)) throw new UserError(`${flag} '${text}' is too small; give at least 1MB.`);
  return Math.floor(bytes);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

/**
 * Splits tensors (in topological order) into consecutive groups whose sizes add up to at most
 * `budget` bytes. A tensor larger than the budget runs alone; one of unknown size counts as
 * `unknownBytes`. Consecutive groups keep each run's taps close together in the graph.
 */
export function groupBySize(tensors: readonly string[], bytesOf: (t: string) => number | null, budget: number, unknownBytes = 16 * 1024 * 1024): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const t of tensors) {
    const size = bytesOf(t) ?? unknownBytes;
    if (current.length > 0 && used + size > budget) {
      groups.push(current);
      current = [];
      used = 0;
    }
    current.push(t);
    used += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
