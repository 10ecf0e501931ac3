import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { parseDType, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { parseTensorFileName } from './file-names.js';
import type { RunSide } from './manifest.js';
import { findRun } from './run-location.js';
import { tensorFormatOf, type TensorFormat } from './tensor-file.js';

/**
 * Dump directories on disk (the files behind backends/dumps.ts): finding the tensor files in one,
 * the Ascend file names, the listing `compare` shows, and the user's dump map file.
 */

export interface DumpMapEntry {
  readonly file: string;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

export type DumpMap = Readonly<Record<string, string | DumpMapEntry>>;

const MAX_DEPTH = 8;
const ASCEND_SHORT = /^(.+)\.(\d+)\.(\d+)\.npy$/i;
const ASCEND_FULL = /^[^.]+\.(.+)\.\d+\.\d+\.(\d+)\.output\.(\d+)\.npy$/i;

export interface AscendFile {
  readonly op: string;
  readonly outputIndex: number;
  readonly timestamp: bigint;
}

export function parseAscend(fileName: string): AscendFile | undefined {
  const full = ASCEND_FULL.exec(fileName);
  if (full) return { op: full[1], outputIndex: Number(full[3]), timestamp: BigInt(full[2]) };
  const short = ASCEND_SHORT.exec(fileName);
  if (short) return { op: short[1], outputIndex: Number(short[2]), timestamp: BigInt(short[3]) };
  return undefined;
}

/** A file's name without its directory and extension. */
export const baseOf = (file: string): string => path.basename(file, path.extname(file));

/** Refuses a dump directory that does not exist or is not a directory. */
export function requireDumpDirectory(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError(`Dump directory '${displayName(dir, 400)}' does not exist or is not a directory.`);
  }
}

/** Refuses a dump map entry naming a file that does not exist in the directory. */
export function requireDumpMapFiles(dir: string, map: DumpMap): void {
  for (const [name, entry] of Object.entries(map)) {
    const file = typeof entry === 'string' ? entry : entry.file;
    if (!fs.existsSync(path.resolve(dir, file))) {
      throw new UserError(
        `The dump map gives file '${displayName(file, 400)}' for tensor '${displayName(name)}', but it does not exist in '${displayName(dir, 400)}'.`,
      );
    }
  }
}

/** Tensor files under `dir`, relative, '/'-separated, sorted. */
export function scanDumpDirectory(dir: string): string[] {
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
  for (const file of scanDumpDirectory(dir)) {
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
