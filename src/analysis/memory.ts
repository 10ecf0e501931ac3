import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';

/** The default memory budget for tapped tensors of one backend run (see groupBySize). */
export const DEFAULT_MAX_MEMORY = 256 * 1024 * 1024;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

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
export function groupBySize(
  tensors: readonly string[],
  bytesOf: (t: string) => number | null,
  budget: number,
  unknownBytes = 16 * 1024 * 1024,
): string[][] {
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

/**
 * Refuses, as a UserError, an allocation of `bytes` that a machine with `memory` bytes cannot hold
 * at all, before it is attempted: a model may declare an input of 10^12 elements.
 * `what` starts the sentence, e.g. "The synthetic input 'x' of shape [1,3,100000,100000]".
 */
export function assertFitsInMemory(bytes: number, what: string, memory: number): void {
  if (bytes > memory) {
    throw new UserError(
      `${what} would take ${formatBytes(bytes)}, more than this machine's ${formatBytes(memory)} of memory; give a smaller shape.`,
    );
  }
}

/** A tensor that a backend run holds, for the memory rule (see planMemory). */
export interface HeldTensor {
  readonly name: string;
  /** Bytes; null when the size is not known before running (such tensors are not counted). */
  readonly bytes: number | null;
}

export interface MemoryPlan {
  /** The groups of taps, each run with the inputs and outputs held beside it. */
  readonly groups: string[][];
  /** Bytes the inputs and outputs take in every run. */
  readonly fixedBytes: number;
  /** Bytes left for one group of taps. */
  readonly tapBudget: number;
}

/**
 * The memory rule of a run (`--max-memory`, DESIGN.md §5). One backend run holds the model's
 * inputs, its outputs and one group of taps, so:
 *
 * - the inputs and outputs together must fit the budget;
 * - each tap must fit beside them (a tap that is itself an input or an output costs nothing
 *   more); and
 * - the taps are grouped, in order, into what the budget leaves after the inputs and outputs.
 *
 * A breach is a UserError before anything is run or written, naming the largest tensor at fault,
 * its size and the budget. Tensors whose size is unknown until the model runs (dynamic shapes that
 * inference cannot settle) are not checked and count as `unknownBytes` in the grouping.
 * onnxruntime's own working memory and the model's weights come on top of the budget.
 * `budgetLabel` names the budget in messages, e.g. "--max-memory 1.0 MB"; `wording` the held
 * tensor and what to do in the sentence refusing one.
 */
export function planMemory(
  taps: readonly HeldTensor[],
  inputs: readonly HeldTensor[],
  outputs: readonly HeldTensor[],
  budget: number,
  budgetLabel = `--max-memory ${formatBytes(budget)}`,
  unknownBytes = 16 * 1024 * 1024,
  wording: { readonly subject: string; readonly remedy: string } = {
    subject: 'Tap',
    remedy: 'raise --max-memory or leave it out of the taps',
  },
): MemoryPlan {
  const fixed = new Map<string, number>();
  for (const t of [...inputs, ...outputs]) if (t.bytes !== null) fixed.set(t.name, t.bytes);
  let fixedBytes = 0;
  let largestFixed: [string, number] | undefined;
  for (const [name, bytes] of fixed) {
    fixedBytes += bytes;
    if (!largestFixed || bytes > largestFixed[1]) largestFixed = [name, bytes];
  }
  if (fixedBytes > budget && largestFixed) {
    const role = inputs.some((t) => t.name === largestFixed[0]) ? 'input' : 'output';
    throw new UserError(
      `The model's inputs and outputs alone take ${formatBytes(fixedBytes)} (the largest, ${role} '${displayName(largestFixed[0])}', ${formatBytes(largestFixed[1])}), more than ${budgetLabel}; raise --max-memory.`,
    );
  }
  const tapBudget = budget - fixedBytes;
  let largestTap: { readonly name: string; readonly bytes: number } | undefined;
  for (const t of taps) {
    if (t.bytes === null || fixed.has(t.name)) continue;
    if (!largestTap || t.bytes > largestTap.bytes) largestTap = { name: t.name, bytes: t.bytes };
  }
  if (largestTap && largestTap.bytes > tapBudget) {
    const beside = fixedBytes > 0 ? ` beside the model's inputs and outputs (${formatBytes(fixedBytes)})` : '';
    throw new UserError(
      `${wording.subject} '${displayName(largestTap.name)}' alone takes ${formatBytes(largestTap.bytes)}, which does not fit${beside} in ${budgetLabel}; ${wording.remedy}.`,
    );
  }
  const sizes = new Map(taps.map((t) => [t.name, fixed.has(t.name) ? 0 : t.bytes]));
  const groups = groupBySize(
    taps.map((t) => t.name),
    (t) => sizes.get(t) ?? null,
    tapBudget,
    unknownBytes,
  );
  return { groups, fixedBytes, tapBudget };
}
