import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { parseDType, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { parseTensorFileName, sanitizeName, tensorFileName } from '../store/file-names.js';
import type { RunManifest, RunSide, TensorEntry } from '../store/manifest.js';
import { findRun } from '../store/run-location.js';
import { readTensorFile, tensorFormatOf, TENSOR_FILE_EXTENSIONS, type TensorFormat } from '../store/tensor-file.js';
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

export interface DumpMapEntry {
  readonly file: string;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

export type DumpMap = Readonly<Record<string, string | DumpMapEntry>>;

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

const MAX_DEPTH = 8;
const ASCEND_SHORT = /^(.+)\.(\d+)\.(\d+)\.npy$/i;
const ASCEND_FULL = /^[^.]+\.(.+)\.\d+\.\d+\.(\d+)\.output\.(\d+)\.npy$/i;

interface AscendFile {
  readonly op: string;
  readonly outputIndex: number;
  readonly timestamp: bigint;
}

function parseAscend(fileName: string): AscendFile | undefined {
  const full = ASCEND_FULL.exec(fileName);
  if (full) return { op: full[1], outputIndex: Number(full[3]), timestamp: BigInt(full[2]) };
  const short = ASCEND_SHORT.exec(fileName);
  if (short) return { op: short[1], outputIndex: Number(short[2]), timestamp: BigInt(short[3]) };
  return undefined;
}

/** Node names compared the way Ascend writes them into file names: unsafe characters as '_'. */
const opKey = (op: string, outputIndex: number): string => `${op.replace(/[^A-Za-z0-9._-]/g, '_')}#${outputIndex}`;
const baseOf = (file: string): string => path.basename(file, path.extname(file));
const rank = (file: string): number => TENSOR_FILE_EXTENSIONS.indexOf(path.extname(file).toLowerCase());

/** Tensor files under `dir`, relative, '/'-separated, sorted. */
function scan(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      throw new UserError(`Dump directory '${displayName(path.join(dir, rel), 400)}' cannot be read (${code}).`, { cause: error });
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory() && depth < MAX_DEPTH) walk(child, depth + 1);
      // Symbolic links to files count; links to directories are not followed (no cycles).
      else if ((e.isFile() || (e.isSymbolicLink() && isFileTarget(path.join(dir, child)))) && tensorFormatOf(e.name) !== undefined)
        out.push(child);
    }
  };
  walk('', 0);
  return out.sort();
}

function isFileTarget(link: string): boolean {
  const stat = fs.statSync(link, { throwIfNoEntry: false });
  return stat !== undefined && stat.isFile();
}

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
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new UserError(`Dump directory '${displayName(dir, 400)}' does not exist or is not a directory.`);
    }
    const run = findRun(dir);
    let side: RunSide | undefined;
    if (run) {
      const sides = new Set(run.entries.map((t) => t.backend));
      side = options.side ?? run.side ?? (sides.size === 1 ? [...sides][0] : 'quant');
    }
    for (const [name, entry] of Object.entries(options.map ?? {})) {
      const file = typeof entry === 'string' ? entry : entry.file;
      if (!fs.existsSync(path.resolve(dir, file))) {
        throw new UserError(
          `The dump map gives file '${displayName(file, 400)}' for tensor '${displayName(name)}', but it does not exist in '${displayName(dir, 400)}'.`,
        );
      }
    }
    // In a run directory, the other side's files never stand in for this side's missing tensors.
    const other = run && run.side === undefined && side !== undefined ? `${side === 'float' ? 'quant' : 'float'}/` : undefined;
    const files = scan(dir).filter((f) => other === undefined || !f.startsWith(other));
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

export interface DumpFile {
  /** Relative to the directory, '/'-separated. */
  readonly file: string;
  readonly format: TensorFormat;
  /**
   * The tensor name: from the manifest; from a quantscope file name (without its hash); or the
   * base name. null for Ascend-style files, which name a node and output instead.
   */
  readonly tensor: string | null;
  /** Whether `tensor` is the exact name (manifest, or a hashed name whose hash checks out). */
  readonly exactName: boolean;
  /** The hash of a quantscope file name `<sanitized>-<hash>` (not from the manifest): it identifies the tensor. */
  readonly hash?: string;
  readonly backend?: RunSide;
  readonly node?: string;
  readonly outputIndex?: number;
  readonly timestamp?: string;
  readonly dtype?: string;
  readonly shape?: readonly number[];
}

/** Every tensor file in a dump directory with what its run's manifest entry or its name says about it. */
export function listDumpTensors(dir: string): DumpFile[] {
  const listed = new Map((findRun(dir)?.entries ?? []).map((e) => [e.file, e]));
  const out: DumpFile[] = [];
  for (const file of scan(dir)) {
    const format = tensorFormatOf(file) as TensorFormat;
    const e = listed.get(file);
    if (e) {
      out.push({
        file,
        format,
        tensor: e.name,
        exactName: true,
        backend: e.backend,
        node: e.node ?? undefined,
        dtype: e.dtype,
        shape: e.shape,
      });
      continue;
    }
    const a = format === 'npy' ? parseAscend(path.basename(file)) : undefined;
    if (a) {
      out.push({ file, format, tensor: null, exactName: false, node: a.op, outputIndex: a.outputIndex, timestamp: a.timestamp.toString() });
      continue;
    }
    const base = baseOf(file);
    const parts = parseTensorFileName(base);
    if (parts) out.push({ file, format, tensor: parts.sanitized, exactName: parts.exact, hash: parts.hash });
    else out.push({ file, format, tensor: base, exactName: false });
  }
  return out;
}

/**
 * Reads a user's dump map: a JSON object from tensor name to a file name, or to
 * `{ "file": ..., "dtype": "uint8", "shape": [1, 3, 4, 4] }`. Errors name the map file and the key.
 */
export function readDumpMap(file: string): DumpMap {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    const why = (error as { code?: string }).code ?? (error as Error).message;
    throw new UserError(`Dump map '${displayName(file, 400)}' cannot be read as JSON (${why}).`, { cause: error });
  }
  const fail = (key: string, why: string): never => {
    throw new UserError(`Dump map '${displayName(file, 400)}' has a bad entry for '${displayName(key)}': ${why}.`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`Dump map '${displayName(file, 400)}' is not a JSON object from tensor names to files.`);
  }
  const out: Record<string, string | DumpMapEntry> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') {
      out[key] = v;
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'expected a file name or {"file", "dtype", "shape"}');
    const o = v as Record<string, unknown>;
    if (typeof o.file !== 'string') fail(key, "'file' is not a string");
    let dtype: DType | undefined;
    if (o.dtype !== undefined)
      dtype =
        typeof o.dtype === 'string'
          ? (parseDType(o.dtype) ?? fail(key, `'${displayName(String(o.dtype), 40)}' is not a dtype`))
          : fail(key, "'dtype' is not a string");
    if (o.shape !== undefined && !(Array.isArray(o.shape) && o.shape.every((d) => Number.isSafeInteger(d) && d >= 0)))
      fail(key, "'shape' is not an array of non-negative integers");
    out[key] = { file: o.file as string, dtype, shape: o.shape as number[] | undefined };
  }
  return out;
}
