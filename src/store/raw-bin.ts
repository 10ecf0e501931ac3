import * as fs from 'node:fs';
import { totalmem } from 'node:os';
import { displayName } from '../core/closest.js';
import { bytesPerElement, dtypeInfo, lanes, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { allocate, elementCount, makeTensor, type Tensor, type TensorData } from '../core/tensor.js';

/**
 * Raw tensor bytes: the elements back to back, little-endian, C order, no header. This module also
 * holds the byte <-> typed-array conversions that the .npy reader and writer share.
 *
 * Supported dtypes: every fixed-size type whose core storage is its file storage (floats and
 * integers of 8 to 64 bits, float16/bfloat16 and float8 as raw bits, bool as one byte, complex as
 * interleaved pairs). 4-bit types (packed two per byte in files) and strings are rejected.
 */

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Whether raw bytes of this dtype can be read into and written from a core Tensor directly. */
export function hasRawLayout(dtype: DType): boolean {
  const info = dtypeInfo(dtype);
  return info.array !== 'string[]' && info.bits >= 8;
}

/** Bytes one logical element takes in a file (complex64 = 8). */
export function fileItemSize(dtype: DType): number {
  return bytesPerElement(dtype) * lanes(dtype);
}

/**
 * Copies `bytes` into a new typed array for `count` logical elements of `dtype`. `bigEndian` says
 * how the bytes are ordered; they are swapped when that differs from the host. Bool bytes other
 * than 0 are read as 1 (numpy does the same when it casts). Copying also fixes alignment: a
 * Buffer's byteOffset need not be a multiple of the element size.
 */
export function typedArrayFromBytes(bytes: Uint8Array, dtype: DType, count: number, bigEndian = false): TensorData {
  const data = allocate(dtype, count * lanes(dtype));
  byteView(data).set(bytes.subarray(0, data.length * bytesPerElement(dtype)));
  fixLoadedElements(data, dtype, bigEndian);
  return data;
}

/** The bytes of a numeric typed array, as a view of the same memory. */
export function byteView(data: TensorData): Uint8Array {
  const a = data as Uint8Array;
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Finishes elements whose bytes were copied straight from a file: swaps byte order when the file's
 * order differs from the host's and reads bool bytes other than 0 as 1.
 */
export function fixLoadedElements(data: TensorData, dtype: DType, bigEndian: boolean): void {
  const width = bytesPerElement(dtype);
  if (width > 1 && bigEndian === hostIsLittleEndian) swapBytes(byteView(data), width);
  if (dtype === 'bool') {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) if (b[i] > 1) b[i] = 1;
  }
}

/** The tensor's element bytes as little-endian; a view of the tensor's own memory on little-endian hosts. */
export function littleEndianBytes(tensor: Tensor): Uint8Array {
  if (!hasRawLayout(tensor.dtype)) {
    throw new UserError(`A ${tensor.dtype} tensor has no raw byte layout that quantscope writes; use a .pb file.`);
  }
  const view = byteView(tensor.data);
  const width = bytesPerElement(tensor.dtype);
  if (hostIsLittleEndian || width === 1) return view;
  const copy = view.slice();
  swapBytes(copy, width);
  return copy;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Reads raw little-endian bytes as a tensor of the given dtype and dims. With no dims the tensor
 * is 1-D with as many elements as the bytes hold. The byte count must match exactly.
 */
export function parseRawBin(bytes: Uint8Array, dtype: DType, dims: readonly number[] | undefined, source: string): Tensor {
  const shape = rawShape(bytes.length, dtype, dims, source);
  return makeTensor(dtype, shape, typedArrayFromBytes(bytes, dtype, elementCount(shape)));
}

/** The shape of a raw file of `size` bytes, checked against the given dims. */
function rawShape(size: number, dtype: DType, dims: readonly number[] | undefined, source: string): readonly number[] {
  const where = `File '${displayName(source, 400)}'`;
  if (!hasRawLayout(dtype)) {
    throw new UserError(
      `${where} cannot be read as raw ${dtype}: only types of 8 bits or more with a fixed size are supported in .bin files.`,
    );
  }
  const item = fileItemSize(dtype);
  if (dims === undefined) {
    if (size % item !== 0) {
      throw new UserError(`${where} holds ${size} bytes, which is not a whole number of ${dtype} elements (${item} bytes each).`);
    }
    return [size / item];
  }
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new UserError(
        `The shape [${dims.join(',')}] given for '${displayName(source, 400)}' has a dimension that is not a non-negative integer.`,
      );
  }
  const needed = elementCount(dims) * item;
  if (needed !== size) {
    throw new UserError(`${where} holds ${size} bytes but a ${dtype} tensor of shape [${dims.join(',')}] needs ${needed} bytes.`);
  }
  return dims;
}

/** The tensor as raw little-endian bytes (see parseRawBin). */
export function encodeRawBin(tensor: Tensor): Uint8Array {
  return littleEndianBytes(tensor);
}

/**
 * Allocates the elements of a tensor about to be read from `source`. Callers have already checked
 * that the file holds exactly these bytes, so the size is justified by the input; but a file larger
 * than this machine's memory (or than V8 can allocate) is refused here as a UserError naming the
 * file, rather than crashing the process with an out-of-memory error.
 */
export function allocateForFile(dtype: DType, length: number, source: string): TensorData {
  const bytes = length * bytesPerElement(dtype);
  const memory = totalmem();
  if (bytes > memory) {
    throw new UserError(
      `File '${displayName(source, 400)}' holds a tensor of ${bytes} bytes, more than this machine's ${memory} bytes of memory.`,
    );
  }
  try {
    return allocate(dtype, length);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UserError(
      `File '${displayName(source, 400)}' holds a tensor of ${bytes} bytes, which cannot be allocated (${error.message}).`,
      { cause: error },
    );
  }
}

/** Opens a file for reading; a missing or unreadable file is the user's error, named in one sentence. */
export function openForReading(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error';
    throw new UserError(`File '${displayName(path, 400)}' cannot be opened (${code}).`, { cause: error });
  }
}

export function readFully(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new UserError(`File '${displayName(path, 400)}' shrank while it was being read.`);
    done += n;
  }
}

/**
 * Reads a raw .bin file straight into the tensor's memory, checking its size against dtype and
 * dims before allocating (see parseRawBin for the rules).
 */
export function readRawBin(path: string, dtype: DType, dims: readonly number[] | undefined): Tensor {
  const fd = openForReading(path);
  try {
    const size = fs.fstatSync(fd).size;
    const shape = rawShape(size, dtype, dims, path);
    const data = allocateForFile(dtype, elementCount(shape) * lanes(dtype), path);
    readFully(fd, byteView(data), 0, path);
    fixLoadedElements(data, dtype, false);
    return makeTensor(dtype, shape, data);
  } finally {
    fs.closeSync(fd);
  }
}
