import * as fs from 'node:fs';

/**
 * The questions app/ asks about paths, and whole-file reads, so that app/ itself never touches
 * the file system. Errors are the fs errors as they are: the callers word the messages.
 */

/** Whether something exists at `path` (false for a dangling link, as fs.existsSync). */
export function pathExists(path: string): boolean {
  return fs.existsSync(path);
}

/** What is at `path`: nothing (as pathExists), a directory, or a file (anything that is not a directory). */
export type PathKind = 'missing' | 'directory' | 'file';

/** What is at `path` (see PathKind); a path that exists but cannot be examined throws the fs error. */
export function pathKind(path: string): PathKind {
  if (!fs.existsSync(path)) return 'missing';
  return fs.statSync(path).isDirectory() ? 'directory' : 'file';
}

/** A whole file's bytes. */
export function readFileBytes(file: string): Buffer {
  return fs.readFileSync(file);
}
