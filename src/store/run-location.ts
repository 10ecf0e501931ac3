import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { MANIFEST_FILE, readManifest, type RunManifest, type RunSide, type TensorEntry } from './manifest.js';

/**
 * The quantscope run a dump directory belongs to (DESIGN.md §6). A run directory holds
 * manifest.json; its `float/` and `quant/` sub-directories are runs too, read with the manifest
 * one level up, so `compare --ref RUN/float --test RUN/quant` knows the exact tensor names and
 * whether the run finished. A directory copied out of its run has no manifest: it is read by file
 * names alone.
 */

export interface DumpRun {
  /** The run directory: where manifest.json is. */
  readonly root: string;
  readonly manifest: RunManifest;
  /** The side the dump directory holds when it is the run's `float/` or `quant/` sub-directory. */
  readonly side?: RunSide;
  /** The manifest's entries whose files lie inside the dump directory, `file` relative to it. */
  readonly entries: readonly TensorEntry[];
}

const SIDES: readonly RunSide[] = ['float', 'quant'];

/** The run `dir` is or belongs to; undefined when neither it nor (for float/ and quant/) its parent holds a manifest. */
export function findRun(dir: string): DumpRun | undefined {
  if (fs.existsSync(path.join(dir, MANIFEST_FILE))) {
    const manifest = readManifest(dir);
    return { root: dir, manifest, entries: manifest.tensors };
  }
  const side = SIDES.find((s) => s === path.basename(path.resolve(dir)));
  const root = path.dirname(path.resolve(dir));
  if (side === undefined || !fs.existsSync(path.join(root, MANIFEST_FILE))) return undefined;
  const manifest = readManifest(root);
  const prefix = `${side}/`;
  const entries = manifest.tensors.filter((e) => e.file.startsWith(prefix)).map((e) => ({ ...e, file: e.file.slice(prefix.length) }));
  return { root, manifest, side, entries };
}

/**
 * One sentence on a run whose manifest says incomplete (its run was stopped before it finished):
 * the directory, and how many of its taps have no tensor on each of `sides` that lacks some, with
 * the first of them; null for a complete run.
 */
export function incompleteRunNote(run: DumpRun, sides: readonly RunSide[]): string | null {
  if (run.manifest.status === 'complete') return null;
  const head = `Run directory '${displayName(run.root, 400)}' is incomplete: its run was stopped before it finished`;
  const taps = run.manifest.taps;
  if (taps.length === 0) return `${head}, and its manifest does not say which tensors it was to write.`;
  const lacking = [...new Set(sides)].flatMap((side) => {
    const written = new Set(run.manifest.tensors.filter((e) => e.backend === side).map((e) => e.name));
    const missing = taps.filter((t) => !written.has(t));
    return missing.length === 0
      ? []
      : [`${missing.length} of its ${taps.length} taps have no ${side} tensor (the first is '${displayName(missing[0])}')`];
  });
  if (lacking.length === 0) return `${head}, though each of its ${taps.length} taps has its ${[...new Set(sides)].join(' and ')} tensor.`;
  return `${head}, and ${lacking.join(', and ')}.`;
}
