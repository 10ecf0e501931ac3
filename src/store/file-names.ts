import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { InternalError } from '../core/errors.js';

/**
 * File names from tensor names (DESIGN.md §6). A tensor name is arbitrary text: it may hold `/`,
 * `\`, `..`, NUL, control characters or ten thousand characters. The file name keeps the readable
 * part and a hash of the whole name, so that it is unique and can never leave its directory:
 *
 *   `<sanitized>-<hash>`   sanitized: every character outside [A-Za-z0-9._-] becomes '_', a leading
 *                          '.' becomes '_' (no hidden files, never '.' or '..'), cut to 100 chars;
 *                          hash: the first 8 hex digits of sha256(UTF-8 of the name).
 *
 * Names that differ only in case or in replaced characters still get different hashes, so two
 * tensors never share a file, even on case-insensitive file systems.
 */

/** Characters of the sanitized part before the hash. */
export const MAX_SANITIZED_LENGTH = 100;

/** The readable part of a file name: unsafe characters replaced, no leading dot, capped; never empty. */
export function sanitizeName(name: string, max = MAX_SANITIZED_LENGTH): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]/gu, '_')
    .replace(/^\./, '_')
    .slice(0, max);
  return safe === '' ? '_' : safe;
}

/** 8 hex digits of the sha256 of the name's UTF-8 bytes. */
export function nameHash(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8);
}

/** The file name of a tensor: `<sanitized>-<hash><extension>` (see the module comment). */
export function tensorFileName(tensorName: string, extension = ''): string {
  return `${sanitizeName(tensorName)}-${nameHash(tensorName)}${extension}`;
}

/** The two parts of a file name that tensorFileName wrote, read back from its base (without extension). */
export interface TensorFileNameParts {
  /** The readable part: the tensor name itself only when `exact`. */
  readonly sanitized: string;
  /** The 8 hex digits of the sha256 of the whole tensor name. */
  readonly hash: string;
  /** Whether the hash is that of the sanitized part, so the sanitized part is the tensor name. */
  readonly exact: boolean;
}

const HASHED_BASE = /^(.+)-([0-9a-f]{8})$/;

/**
 * Reads `<sanitized>-<hash>` back from a file's base name; undefined for a base of another form.
 * The tensor name itself cannot be recovered when it held replaced characters or was cut: only
 * its hash identifies it then, and a file of another directory with the same base holds the same tensor.
 */
export function parseTensorFileName(base: string): TensorFileNameParts | undefined {
  const m = HASHED_BASE.exec(base);
  if (!m) return undefined;
  return { sanitized: m[1], hash: m[2], exact: nameHash(m[1]) === m[2] };
}

/** Whether `relative`, joined to `dir`, names a path strictly inside `dir`. */
export function isInside(dir: string, relative: string): boolean {
  if (relative.includes('\0') || path.isAbsolute(relative) || path.win32.isAbsolute(relative)) return false;
  const base = path.resolve(dir);
  const rel = path.relative(base, path.resolve(base, relative));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * Joins a file name produced by quantscope to its directory. A result outside `dir` is a bug in
 * the caller (names are sanitized before they get here), hence an InternalError.
 */
export function safeJoin(dir: string, fileName: string): string {
  if (!isInside(dir, fileName)) {
    throw new InternalError(`refusing to write '${JSON.stringify(fileName).slice(0, 200)}' outside directory '${dir}'`);
  }
  return path.join(dir, fileName);
}
