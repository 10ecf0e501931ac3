import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { isDType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { isInside, sanitizeName } from './file-names.js';
import { byteView, openForReading } from './raw-bin.js';

/**
 * The manifest of a run directory (DESIGN.md §6): what was run, on which inputs, and which file
 * holds which tensor. `status` stays 'incomplete' until the run finishes, so an interrupted run is
 * never mistaken for a whole one. Tensor files are named relative to the run directory with '/'.
 */

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_SCHEMA_VERSION = 1;

export type RunSide = 'float' | 'quant';

export interface InputEntry {
  readonly name: string;
  /** A file path, or a description such as 'synthetic (seed 0)'. */
  readonly source: string;
  /** sha256 of the tensor fed to the model (see sha256OfTensor). */
  readonly sha256: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

export interface TensorEntry {
  readonly name: string;
  readonly backend: RunSide;
  /** Relative to the run directory, '/'-separated, e.g. 'float/conv1-1a2b3c4d.npy'. */
  readonly file: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly node: string | null;
  readonly opType: string | null;
}

export interface RunManifest {
  readonly schemaVersion: 1;
  readonly status: 'complete' | 'incomplete';
  readonly tool: { readonly name: 'quantscope'; readonly version: string };
  /** ISO 8601. */
  readonly createdAt: string;
  readonly model: { readonly path: string; readonly sha256: string };
  readonly inputs: readonly InputEntry[];
  readonly profile?: string | null;
  readonly plan?: unknown;
  readonly calibrationId?: string | null;
  readonly taps: readonly string[];
  readonly tensors: readonly TensorEntry[];
}

/** The manifest as written: two-space indented JSON with a final newline. */
export function serializeManifest(manifest: RunManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * Reads and validates `<dir>/manifest.json` (or the file itself when `dirOrFile` names a .json
 * file). Every problem is a UserError naming the file and the field, e.g.
 * "File 'run/manifest.json' has a bad field tensors[3].shape (expected ...)."
 */
export function readManifest(dirOrFile: string): RunManifest {
  const file = dirOrFile.toLowerCase().endsWith('.json') ? dirOrFile : path.join(dirOrFile, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error';
    throw new UserError(`Run manifest '${displayName(file, 400)}' cannot be read (${code}).`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error, which may hold control characters: show it escaped.
    throw new UserError(`File '${displayName(file, 400)}' is not valid JSON (${displayName((error as Error).message, 200)}).`, {
      cause: error,
    });
  }
  return validateManifest(value, file);
}

/** Checks a parsed manifest; `file` names it in errors and locates tensor files. */
export function validateManifest(value: unknown, file: string): RunManifest {
  const fail = (field: string, expected: string): never => {
    throw new UserError(`File '${displayName(file, 400)}' has a bad field ${field} (expected ${expected}).`);
  };
  const obj = (v: unknown, field: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(field, 'an object');
  const str = (v: unknown, field: string): string => (typeof v === 'string' ? v : fail(field, 'a string'));
  const strOrNull = (v: unknown, field: string): string | null => (v === null || v === undefined ? null : str(v, field));
  const arr = (v: unknown, field: string): unknown[] => (Array.isArray(v) ? v : fail(field, 'an array'));
  const dims = (v: unknown, field: string): number[] =>
    arr(v, field).map((d) =>
      Number.isSafeInteger(d) && (d as number) >= 0 ? (d as number) : fail(field, 'an array of non-negative integers'),
    );
  const dtype = (v: unknown, field: string): string => {
    const s = str(v, field);
    return isDType(s) ? s : fail(field, 'a dtype name such as float32');
  };

  const root = obj(value, 'manifest');
  if (root.schemaVersion !== MANIFEST_SCHEMA_VERSION) {
    if (typeof root.schemaVersion === 'number' && root.schemaVersion > MANIFEST_SCHEMA_VERSION) {
      throw new UserError(
        `File '${displayName(file, 400)}' was written by a newer quantscope (manifest schema ${root.schemaVersion}); update quantscope to read it.`,
      );
    }
    fail('schemaVersion', String(MANIFEST_SCHEMA_VERSION));
  }
  const status = root.status === 'complete' || root.status === 'incomplete' ? root.status : fail('status', "'complete' or 'incomplete'");
  const tool = obj(root.tool, 'tool');
  if (tool.name !== 'quantscope') fail('tool.name', "'quantscope'");
  const model = obj(root.model, 'model');
  const dir = path.dirname(file);
  const manifest: RunManifest = {
    schemaVersion: 1,
    status,
    tool: { name: 'quantscope', version: str(tool.version, 'tool.version') },
    createdAt: str(root.createdAt, 'createdAt'),
    model: { path: str(model.path, 'model.path'), sha256: str(model.sha256, 'model.sha256') },
    inputs: arr(root.inputs, 'inputs').map((v, i) => {
      const f = `inputs[${i}]`;
      const o = obj(v, f);
      return {
        name: str(o.name, `${f}.name`),
        source: str(o.source, `${f}.source`),
        sha256: str(o.sha256, `${f}.sha256`),
        shape: dims(o.shape, `${f}.shape`),
        dtype: dtype(o.dtype, `${f}.dtype`),
      };
    }),
    profile: strOrNull(root.profile, 'profile'),
    plan: root.plan ?? null,
    calibrationId: strOrNull(root.calibrationId, 'calibrationId'),
    taps: arr(root.taps, 'taps').map((t, i) => str(t, `taps[${i}]`)),
    tensors: arr(root.tensors, 'tensors').map((v, i) => {
      const f = `tensors[${i}]`;
      const o = obj(v, f);
      const backend = o.backend === 'float' || o.backend === 'quant' ? o.backend : fail(`${f}.backend`, "'float' or 'quant'");
      const rel = str(o.file, `${f}.file`);
      if (!isInside(dir, rel)) fail(`${f}.file`, 'a path inside the run directory');
      return {
        name: str(o.name, `${f}.name`),
        backend,
        file: rel,
        shape: dims(o.shape, `${f}.shape`),
        dtype: dtype(o.dtype, `${f}.dtype`),
        node: strOrNull(o.node, `${f}.node`),
        opType: strOrNull(o.opType, `${f}.opType`),
      };
    }),
  };
  return manifest;
}

/** `<model-basename>-<YYYYMMDD-HHMMSS>` in local time; the base name is sanitized for file systems. */
export function defaultRunId(modelPath: string, date = new Date()): string {
  const base = sanitizeName(path.basename(modelPath).replace(/\.onnx$/i, ''), 60);
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
  return `${base}-${stamp}`;
}

let cachedVersion: string | undefined;

/** quantscope's version from its package.json ('unknown' if the file is not beside the code). */
export function toolVersion(): string {
  if (cachedVersion === undefined) {
    const file = new URL('../../package.json', import.meta.url);
    cachedVersion = fs.existsSync(file)
      ? String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown }).version ?? 'unknown')
      : 'unknown';
  }
  return cachedVersion;
}

/** sha256 (hex) of a file's bytes, read in 1 MiB chunks. */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const fd = openForReading(file);
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * sha256 (hex) of a tensor: its dtype and dims as text (`float32[1,3,4,4]\n`), then the element
 * bytes in memory order (little-endian on every platform Node supports here; strings as JSON). Equal tensors hash equal whatever file they came from.
 */
export function sha256OfTensor(tensor: Tensor): string {
  const hash = createHash('sha256');
  hash.update(`${tensor.dtype}[${tensor.dims.join(',')}]\n`);
  if (tensor.dtype === 'string') hash.update(JSON.stringify(tensor.data));
  else hash.update(byteView(tensor.data));
  return hash.digest('hex');
}
