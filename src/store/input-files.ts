import * as fs from 'node:fs';
import { join } from 'node:path';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import { isImageFile } from './image.js';
import { TENSOR_FILE_EXTENSIONS } from './tensor-file.js';

/** The files a `--calib` or `--eval` path stands for: the path itself, or a folder's images and tensor files. */

function isInputFile(file: string): boolean {
  return isImageFile(file) || TENSOR_FILE_EXTENSIONS.some((ext) => file.toLowerCase().endsWith(ext));
}

/**
 * A file, or the supported files of a folder (sorted, not recursive). `what` ('Calibration',
 * 'Evaluation') begins the UserError for a missing path or a folder with no supported file.
 */
export function expandInputPath(path: string, what: string): string[] {
  if (!fs.existsSync(path)) throw new UserError(`${what} path '${displayName(path)}' does not exist.`);
  if (!fs.statSync(path).isDirectory()) return [path];
  const files = fs
    .readdirSync(path)
    .filter(isInputFile)
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new UserError(`${what} folder '${displayName(path)}' holds no image or tensor file.`);
  return files;
}
