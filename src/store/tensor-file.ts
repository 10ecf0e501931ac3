import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import type { DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { elementCount, formatDims, makeTensor, type Tensor } from '../core/tensor.js';
import { tensorFromProto, tensorToProto } from '../onnx/tensor-proto.js';
import { writeFileAtomic, type AtomicWriteOptions } from '../core/atomic-file.js';
import { encodeNpy, readNpy } from './npy.js';
import { encodeRawBin, readRawBin } from './raw-bin.js';
import { formatTextTensor, parseTextTensor } from './text-tensor.js';

/**
 * Tensor files by extension:
 *
 * | extension     | format                                     | dtype and shape                     |
 * |---------------|--------------------------------------------|-------------------------------------|
 * | `.npy`        | numpy array file                           | from the file                       |
 * | `.pb`         | ONNX TensorProto                           | from the file                       |
 * | `.bin` `.raw` | raw little-endian elements, C order        | given; default float32, 1-D         |
 * | `.txt`        | text numbers (see text-tensor.ts)          | given; default float32, 1-D         |
 *
 * For `.npy` and `.pb` a given dtype must equal the file's, and a given shape must hold the same
 * number of elements as the file (the tensor is then reshaped: devices often dump flat arrays).
 */

export type TensorFormat = 'npy' | 'pb' | 'bin' | 'txt';

const FORMATS: ReadonlyMap<string, TensorFormat> = new Map([
  ['.npy', 'npy'],
  ['.pb', 'pb'],
  ['.bin', 'bin'],
  ['.raw', 'bin'],
  ['.txt', 'txt'],
]);

/** The extensions readTensorFile understands, most preferred first. */
export const TENSOR_FILE_EXTENSIONS: readonly string[] = [...FORMATS.keys()];

export interface TensorFileOptions {
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

/** The format of a file name by its extension (case-insensitive), or undefined. */
export function tensorFormatOf(file: string): TensorFormat | undefined {
  return FORMATS.get(path.extname(file).toLowerCase());
}

function formatOrThrow(file: string): TensorFormat {
  const format = tensorFormatOf(file);
  if (format === undefined) {
    throw new UserError(`File '${displayName(file, 400)}' has an unknown tensor file extension; use ${TENSOR_FILE_EXTENSIONS.join(', ')}.`);
  }
  return format;
}

/** Reads a tensor file (see the module comment). Every problem is a UserError naming the file. */
export function readTensorFile(file: string, options: TensorFileOptions = {}): Tensor {
  const format = formatOrThrow(file);
  try {
    switch (format) {
      case 'npy':
        return conform(readNpy(file), options, file);
      case 'pb':
        return conform(tensorFromProto(fs.readFileSync(file), file, { baseDir: path.dirname(file) }).tensor, options, file);
      case 'bin':
        return readRawBin(file, options.dtype ?? 'float32', options.shape);
      case 'txt':
        return parseTextTensor(fs.readFileSync(file, 'utf8'), options, file);
    }
  } catch (error) {
    throw asUserError(error, file);
  }
}

/** Wraps a file-system error (ENOENT, EISDIR, EACCES...) once, naming the file. */
function asUserError(error: unknown, file: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof UserError || typeof code !== 'string') return error;
  return new UserError(`File '${displayName(file, 400)}' cannot be read (${code}).`, { cause: error });
}

function conform(tensor: Tensor, options: TensorFileOptions, file: string): Tensor {
  if (options.dtype !== undefined && options.dtype !== tensor.dtype) {
    throw new UserError(`File '${displayName(file, 400)}' holds ${tensor.dtype} data, not the ${options.dtype} that was asked for.`);
  }
  const shape = options.shape;
  if (shape === undefined || sameDims(shape, tensor.dims)) return tensor;
  if (elementCount(shape) !== elementCount(tensor.dims)) {
    // The asked-for shape may come from a hostile manifest with thousands of dims: cut it for display.
    throw new UserError(
      `File '${displayName(file, 400)}' holds a tensor of shape ${displayName(formatDims(tensor.dims), 200)}, which cannot be read as shape ${displayName(formatDims(shape), 200)}.`,
    );
  }
  return makeTensor(tensor.dtype, shape, tensor.data);
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export interface WriteTensorOptions extends AtomicWriteOptions {
  /** The name stored in a `.pb` file; default the file's base name. */
  readonly name?: string;
}

/** The bytes of a tensor file in the format its extension names. */
export function encodeTensorFile(file: string, tensor: Tensor, name?: string): Uint8Array[] | string {
  switch (formatOrThrow(file)) {
    case 'npy':
      return encodeNpy(tensor);
    case 'pb':
      return [tensorToProto(tensor, name ?? path.basename(file, path.extname(file)))];
    case 'bin':
      return [encodeRawBin(tensor)];
    case 'txt':
      return formatTextTensor(tensor);
  }
}

/** Writes a tensor file atomically, in the format its extension names. */
export function writeTensorFile(file: string, tensor: Tensor, options: WriteTensorOptions = {}): void {
  writeFileAtomic(file, encodeTensorFile(file, tensor, options.name), options);
}
