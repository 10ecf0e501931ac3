import * as path from 'node:path';
import type { DType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { sanitizeName, tensorFileName } from '../store/file-names.js';
import {
  baseOf,
  parseAscend,
  requireDumpDirectory,
  requireDumpMapFiles,
  scanDumpDirectory,
  type DumpMap,
  type DumpMapEntry,
} from '../store/dump-files.js';
import type { RunManifest, RunSide, TensorEntry } from '../store/manifest.js';
import { findRun } from '../store/run-location.js';
import { readTensorFile, TENSOR_FILE_EXTENSIONS } from '../store/tensor-file.js';
import type { Backend } from './backend.js';

/**
 * A read-only backend over a directory of tensors recorded elsewhere, typically by a device
 * (DESIGN.md §4). `run` ignores its feeds: the caller makes sure the recording used the same inputs.
 *
 * A tensor name is matched to a file by the first rule that finds one:
 *  1. manifest: `manifest.json` in the directory (a quantscope run), or one level up when the
 *     directory is a run's `float/` or `quant/` (store/run-location.ts), entries of `side`
 *     (default: the side of that sub-directory, else the only side present, else 'quant');
 *  2. name: a file whose base name (without extension) is the name's `fileBases` entry, or
 *     tensorFileName(name) (the same tensor: its hash is the name's), the sanitized name without
 *     hash, or the name itself; a sanitized base that several wanted names share goes to the one
 *     equal to it, or to none;
 *  3. ascend: `{op_name}.{output_index}.{timestamp}.npy` or the full Ascend form
 *     `{op_type}.{op_name}.{task_id}.{stream_id}.{timestamp}.output.{output_index}.npy`, where
 *     op_name is the producing node's name with unsafe characters ('/' ...) replaced by '_'; the
 *     node and output index come from `nodeOf`; the latest timestamp wins;
 *  4. map: the user's map from tensor name to a file (relative to the directory, or absolute),
 *     with dtype and shape for raw `.bin` files.
 * In a run directory, the files under the other side's sub-directory are left out of rules 2 and 3.
 * Among files with the same base name, extensions are preferred in the order .npy, .pb, .bin,
 * .raw, .txt. The directory is searched recursively (8 levels), skipping hidden files.
 * Tensors with no file are simply absent from `run`'s result; `matchOf` says which rule matched.
 */

export interface DumpsOptions {
  /** The tensor names wanted (taps and outputs); used to settle names that sanitize alike. */
  readonly names: readonly string[];
  readonly map?: DumpMap;
  readonly side?: RunSide;
  /** The producing node and output index of a tensor, for Ascend-style names. */
  readonly nodeOf?: (tensor: string) => { readonly node: string; readonly outputIndex: number } | undefined;
  /** Tensors `run` always returns when found, like a model's outputs. */
  readonly outputs?: readonly string[];
  /**
   * Names that stand for a quantscope file name whose tensor name is unknown (a compare without a
   * model shows `<sanitized>-<hash>` by its sanitized part): the file base that identifies each.
   */
  readonly fileBases?: ReadonlyMap<string, string>;
}

export type MatchRule = 'manifest' | 'name' | 'ascend' | 'map';

export interface DumpMatch {
  readonly name: string;
  /** Absolute or directory-joined path of the file. */
  readonly path: string;
  readonly rule: MatchRule;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

/** Node names compared the way Ascend writes them into file names: unsafe characters as '_'. */
const opKey = (op: string, outputIndex: number): string => `${op.replace(/[^A-Za-z0-9._-]/g, '_')}#${outputIndex}`;
const rank = (file: string): number => TENSOR_FILE_EXTENSIONS.indexOf(path.extname(file).toLowerCase());

export class DumpsBackend implements Backend {
  readonly kind = 'dumps' as const;
  private readonly cache = new Map<string, DumpMatch | undefined>();
  private readonly byBase = new Map<string, string>();
  private readonly ascend = new Map<string, { file: string; timestamp: bigint }>();
  private readonly plainOwners = new Map<string, string[]>();
  private readonly manifestFiles = new Map<string, { file: string; dtype: DType; shape: readonly number[] }>();

  private constructor(
    readonly dir: string,
    /** The run manifest when the directory holds one. */
    readonly manifest: RunManifest | undefined,
    /** The manifest side read, when there is a manifest. */
    readonly side: RunSide | undefined,
    entries: readonly TensorEntry[],
    private readonly options: DumpsOptions,
    files: readonly string[],
  ) {
    for (const file of files) {
      const base = baseOf(file);
      const known = this.byBase.get(base);
      if (known === undefined || rank(file) < rank(known) || (rank(file) === rank(known) && file.length < known.length))
        this.byBase.set(base, file);
      const a = parseAscend(path.basename(file));
      if (a) {
        const key = opKey(a.op, a.outputIndex);
        const prev = this.ascend.get(key);
        if (!prev || a.timestamp > prev.timestamp) this.ascend.set(key, { file, timestamp: a.timestamp });
      }
    }
    for (const name of options.names) {
      for (const base of new Set([sanitizeName(name), plainSanitized(name)])) {
        const owners = this.plainOwners.get(base) ?? [];
        if (!owners.includes(name)) owners.push(name);
        this.plainOwners.set(base, owners);
      }
    }
    for (const e of entries) {
      if (e.backend === side) this.manifestFiles.set(e.name, { file: e.file, dtype: e.dtype as DType, shape: e.shape });
    }
  }

  /** Opens a dump directory; a bad manifest or a map entry naming a missing file is a UserError. */
  static async open(dir: string, options: DumpsOptions): Promise<DumpsBackend> {
    requireDumpDirectory(dir);
    const run = findRun(dir);
    let side: RunSide | undefined;
    if (run) {
      const sides = new Set(run.entries.map((t) => t.backend));
      side = options.side ?? run.side ?? (sides.size === 1 ? [...sides][0] : 'quant');
    }
    requireDumpMapFiles(dir, options.map ?? {});
    // In a run directory, the other side's files never stand in for this side's missing tensors.
    const other = run && run.side === undefined && side !== undefined ? `${side === 'float' ? 'quant' : 'float'}/` : undefined;
    const files = scanDumpDirectory(dir).filter((f) => other === undefined || !f.startsWith(other));
    return new DumpsBackend(dir, run?.manifest, side, run?.entries ?? [], options, files);
  }

  /** How `name` is matched to a file, or undefined when no rule finds one. */
  matchOf(name: string): DumpMatch | undefined {
    if (!this.cache.has(name)) this.cache.set(name, this.match(name));
    return this.cache.get(name);
  }

  private match(name: string): DumpMatch | undefined {
    const m = this.manifestFiles.get(name);
    if (m) return { name, path: path.join(this.dir, ...m.file.split('/')), rule: 'manifest', dtype: m.dtype, shape: m.shape };

    const identified = this.options.fileBases?.get(name);
    const hashed = (identified === undefined ? undefined : this.byBase.get(identified)) ?? this.byBase.get(tensorFileName(name));
    if (hashed) return { name, path: this.join(hashed), rule: 'name' };
    for (const base of new Set([name, plainSanitized(name), sanitizeName(name)])) {
      const file = this.byBase.get(base);
      if (file === undefined) continue;
      // A file whose base is exactly some wanted name belongs to that name; a base that several
      // wanted names sanitize to belongs to none of them (the hashed file names tell them apart).
      const owners = new Set([...(this.plainOwners.get(base) ?? []), name]);
      if (base === name || owners.size === 1) {
        return { name, path: this.join(file), rule: 'name' };
      }
    }

    const origin = this.options.nodeOf?.(name);
    if (origin) {
      const a = this.ascend.get(opKey(origin.node, origin.outputIndex));
      if (a) return { name, path: this.join(a.file), rule: 'ascend' };
    }

    const entry = this.options.map?.[name];
    if (entry !== undefined) {
      const e: DumpMapEntry = typeof entry === 'string' ? { file: entry } : entry;
      return { name, path: path.resolve(this.dir, e.file), rule: 'map', dtype: e.dtype, shape: e.shape };
    }
    return undefined;
  }

  private join(rel: string): string {
    return path.join(this.dir, ...rel.split('/'));
  }

  /** The recorded tensors among `taps` and the `outputs` option; tensors with no file are absent. */
  async run(_feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>> {
    const out = new Map<string, Tensor>();
    for (const name of new Set([...taps, ...(this.options.outputs ?? [])])) {
      const m = this.matchOf(name);
      if (m) out.set(name, readTensorFile(m.path, { dtype: m.dtype, shape: m.shape }));
    }
    return out;
  }

  async dispose(): Promise<void> {
    this.cache.clear();
  }
}

/** The name with unsafe characters replaced, without hash or length cap. */
function plainSanitized(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/gu, '_');
}
