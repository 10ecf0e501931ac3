import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import * as path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { makeDirectory } from './directories.js';

/** One file of an export (`quantscope export`): its path and text. */
export interface ExportFile {
  readonly path: string;
  readonly text: string;
}

/**
 * Writes an export's files, each atomically (core/atomic-file.ts), creating their directories. A failure is
 * a UserError naming the file; files written before it stay, each whole.
 */
export function writeExportFiles(files: readonly ExportFile[]): void {
  for (const f of files) {
    makeDirectory(path.dirname(path.resolve(f.path)), 'Output directory');
    try {
      writeFileAtomic(f.path, f.text);
    } catch (error) {
      throw new UserError(`Cannot write '${displayName(f.path)}' (${messageOf(error)}).`, { cause: error });
    }
  }
}

/** A file's text as comment lines with the given prefix (`# `), one per line of `lines`. */
export function commentLines(prefix: string, lines: readonly string[]): string {
  return lines.map((l) => `${prefix}${l}`.trimEnd()).join('\n');
}
