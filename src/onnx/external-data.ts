import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { UserError, messageOf } from '../core/errors.js';
import { displayName } from '../core/closest.js';
import type { StringStringEntryProto } from './proto-types.js';

/**
 * Tensor data stored outside the model file (TensorProto.external_data): `location` is a path
 * relative to the model's directory, `offset` and `length` are decimal strings in bytes.
 *
 * Safety policy: the location must stay inside the model's directory. An absolute path, a path
 * that climbs out with `..`, or a symlink that resolves outside is a UserError, so a hostile model
 * cannot make us read arbitrary files. Sizes are checked against the file before anything is
 * allocated.
 */
export interface ExternalDataRef {
  readonly location: string;
  readonly offset: number;
  /** undefined: to the end of the file. */
  readonly length?: number;
}

function parseByteCount(text: string, key: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UserError(`Tensor ${what} has external data ${key} '${displayName(text)}', which is not a byte count.`);
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n)) throw new UserError(`Tensor ${what} has external data ${key} ${text}, which is too large.`);
  return n;
}

export function externalDataRef(entries: readonly StringStringEntryProto[], what: string): ExternalDataRef {
  let location: string | undefined;
  let offset = 0;
  let length: number | undefined;
  for (const e of entries) {
    const value = e.value ?? '';
    if (e.key === 'location') location = value;
    else if (e.key === 'offset') offset = parseByteCount(value, 'offset', what);
    else if (e.key === 'length') length = parseByteCount(value, 'length', what);
  }
  if (location === undefined || location === '') {
    throw new UserError(`Tensor ${what} is marked as external data but has no location.`);
  }
  return { location, offset, length };
}

/** The absolute path of an external data file, or a UserError when it escapes `baseDir`. */
export function resolveExternalPath(location: string, baseDir: string, what: string): string {
  const shown = displayName(location);
  if (path.isAbsolute(location) || path.win32.isAbsolute(location)) {
    throw new UserError(
      `Tensor ${what} has external data at the absolute path '${shown}'; only paths inside the model's directory are allowed.`,
    );
  }
  const base = path.resolve(baseDir);
  const resolved = path.resolve(base, location);
  const rel = path.relative(base, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new UserError(`Tensor ${what} has external data at '${shown}', which is outside the model's directory.`);
  }
  return resolved;
}

/**
 * Reads `expectedBytes` bytes of external data. The declared length (or the rest of the file when
 * no length is given) must equal `expectedBytes`; `expectedBytes` of undefined accepts any size.
 */
export function readExternalData(ref: ExternalDataRef, baseDir: string | undefined, what: string, expectedBytes?: number): Uint8Array {
  if (baseDir === undefined) {
    throw new UserError(
      `Tensor ${what} keeps its data in the external file '${displayName(ref.location)}', but the model was not read from a file, so there is no directory to find it in.`,
    );
  }
  const file = resolveExternalPath(ref.location, baseDir, what);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new UserError(`Tensor ${what} keeps its data in '${displayName(ref.location)}', which cannot be opened (${messageOf(error)}).`, {
      cause: error,
    });
  }
  try {
    const real = realpathSync(file);
    const realBase = realpathSync(path.resolve(baseDir));
    const rel = path.relative(realBase, real);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new UserError(`Tensor ${what} has external data at '${displayName(ref.location)}', which links outside the model's directory.`);
    }
    const size = fstatSync(fd).size;
    if (ref.offset > size) {
      throw new UserError(
        `Tensor ${what} has external data offset ${ref.offset} beyond the end of '${displayName(ref.location)}' (${size} bytes).`,
      );
    }
    const length = ref.length ?? size - ref.offset;
    if (ref.offset + length > size) {
      throw new UserError(
        `Tensor ${what} needs bytes ${ref.offset}..${ref.offset + length} of '${displayName(ref.location)}', which has only ${size} bytes.`,
      );
    }
    if (expectedBytes !== undefined && length !== expectedBytes) {
      throw new UserError(
        `Tensor ${what} needs ${expectedBytes} bytes of external data but '${displayName(ref.location)}' provides ${length}.`,
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, ref.offset + done);
      if (n === 0) throw new UserError(`External data file '${displayName(ref.location)}' ended early while reading tensor ${what}.`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
