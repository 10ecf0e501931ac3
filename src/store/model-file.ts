import { readFileSync } from 'node:fs';
import path from 'node:path';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import { parseModel, type OnnxModel } from '../onnx/index.js';

/**
 * Reads a model file (onnx/ decodes it); missing, truncated or non-ONNX files are UserErrors
 * naming the file. External data is read from the model's directory when a tensor is decoded
 * (onnx/external-data.ts).
 */
export function readModel(file: string): OnnxModel {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${messageOf(error)})`;
    throw new UserError(`Model file '${displayName(file)}' ${why}.`, { cause: error });
  }
  return parseModel(bytes, { baseDir: path.dirname(path.resolve(file)), source: file });
}
