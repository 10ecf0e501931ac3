import * as fs from 'node:fs';
import { displayName } from '../core/closest.js';
import { dtypeFromNumpy, dtypeInfo, lanes, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { elementCount, makeTensor, type Tensor } from '../core/tensor.js';
import { writeFileAtomic, type AtomicWriteOptions } from '../core/atomic-file.js';
import {
  allocateForFile,
  byteView,
  fileItemSize,
  fixLoadedElements,
  littleEndianBytes,
  openForReading,
  readFully,
  typedArrayFromBytes,
} from './raw-bin.js';

/**
 * numpy `.npy` files (format versions 1.0, 2.0 and 3.0; see numpy.lib.format).
 *
 * Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length (uint16 LE in
 * 1.0, uint32 LE in 2.0/3.0), then the header: a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a newline,
 * then the elements in C order.
 *
 * Reading: every dtype of src/core/dtype.ts that has a numpy descriptor; big-endian descriptors
 * ('>f4') are converted to the host order; `fortran_order: True`, structured, string and object
 * dtypes are rejected. The header is parsed by a small literal parser (never evaluated), and the
 * size it claims is checked against the file size before anything is allocated. Trailing bytes
 * after the data are rejected, as a sign of a corrupt file.
 *
 * Writing: version 1.0 (2.0 when the header does not fit in 65535 bytes), little-endian, C order,
 * data aligned to 64 bytes as numpy does.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
/** numpy itself refuses headers above 10,000 bytes by default; we are more tolerant but bounded. */
const MAX_HEADER_BYTES = 1 << 20;
const MAX_NESTING = 16;

interface NpyLayout {
  readonly dtype: DType;
  readonly dims: number[];
  readonly bigEndian: boolean;
  readonly dataOffset: number;
  readonly dataBytes: number;
}

function bad(source: string, why: string): UserError {
  return new UserError(`File '${displayName(source, 400)}' has a bad .npy header (${why}).`);
}

/** Reads `length` bytes at `offset`; returns fewer only at the end of the file. */
type ReadAt = (offset: number, length: number) => Uint8Array;

function layoutOf(readAt: ReadAt, fileSize: number, source: string): NpyLayout {
  const pre = readAt(0, 12);
  if (pre.length < 10 || MAGIC.some((b, i) => pre[i] !== b)) {
    throw new UserError(`File '${displayName(source, 400)}' is not a .npy file (it does not start with the \\x93NUMPY magic).`);
  }
  const major = pre[6];
  const minor = pre[7];
  if (minor !== 0 || major < 1 || major > 3) throw bad(source, `unsupported format version ${major}.${minor}`);
  const view = new DataView(pre.buffer, pre.byteOffset, pre.length);
  let start: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else {
    if (pre.length < 12) throw bad(source, 'the file ends inside the header length');
    headerLength = view.getUint32(8, true);
    start = 12;
  }
  if (headerLength > MAX_HEADER_BYTES) throw bad(source, `a header of ${headerLength} bytes is too long`);
  if (start + headerLength > fileSize) throw bad(source, `the header claims ${headerLength} bytes but the file ends before`);
  const headerBytes = readAt(start, headerLength);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const fields = parseHeaderText(text, source);
  const dataOffset = start + headerLength;
  const count = countElements(fields.dims, source);
  const item = fileItemSize(fields.dtype);
  const available = fileSize - dataOffset;
  // Checked before allocating anything: a hostile header may claim terabytes.
  if (count * item !== available) {
    const claim = `shape ${shapeText(fields.dims)} of ${fields.dtype} needs ${count * item} bytes of data`;
    throw new UserError(`File '${displayName(source, 400)}' is truncated or corrupt: its ${claim} but the file holds ${available}.`);
  }
  return { ...fields, dataOffset, dataBytes: available };
}

/** A shape for messages, `(2, 3)`; a header may hold thousands of dims, so the text is cut. */
function shapeText(dims: readonly number[]): string {
  return displayName(`(${dims.join(', ')})`, 200);
}

function countElements(dims: readonly number[], source: string): number {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) throw bad(source, `shape ${shapeText(dims)} has too many elements`);
  }
  return n;
}

function parseHeaderText(text: string, source: string): { dtype: DType; dims: number[]; bigEndian: boolean } {
  let value: PyValue;
  try {
    value = parsePyLiteral(text.trimEnd());
  } catch (error) {
    if (error instanceof LiteralError) throw bad(source, error.message);
    throw error;
  }
  if (!(value instanceof Map)) throw bad(source, 'the header is not a dict');
  const descr = value.get('descr');
  const fortran = value.get('fortran_order');
  const shape = value.get('shape');
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw bad(source, "the header needs the keys 'descr', 'fortran_order' and 'shape'");
  }
  if (fortran === true) {
    throw new UserError(
      `File '${displayName(source, 400)}' holds a Fortran-order array, which quantscope does not read; save it with np.save(path, np.ascontiguousarray(a)).`,
    );
  }
  if (fortran !== false) throw bad(source, "'fortran_order' is not True or False");
  if (typeof descr !== 'string') {
    throw new UserError(
      `File '${displayName(source, 400)}' holds a structured array, which quantscope does not read; save one plain numeric array per file.`,
    );
  }
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw bad(source, "'shape' is not a tuple of non-negative integers");
  }
  const { dtype, bigEndian } = dtypeOfDescr(descr, source);
  return { dtype, dims: shape as number[], bigEndian };
}

function dtypeOfDescr(descr: string, source: string): { dtype: DType; bigEndian: boolean } {
  const bigEndian = descr.startsWith('>');
  const normalized = bigEndian ? `<${descr.slice(1)}` : descr;
  const dtype = dtypeFromNumpy(normalized);
  if (dtype === undefined) {
    throw new UserError(
      `File '${displayName(source, 400)}' holds numpy dtype '${displayName(descr, 40)}', which quantscope does not read (numeric types only).`,
    );
  }
  return { dtype, bigEndian: bigEndian && fileItemSize(dtype) / lanes(dtype) > 1 };
}

/** Parses a .npy file held in memory. `source` names it in errors. */
export function parseNpy(bytes: Uint8Array, source: string): Tensor {
  const readAt: ReadAt = (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length));
  const layout = layoutOf(readAt, bytes.length, source);
  const count = elementCount(layout.dims);
  const data = typedArrayFromBytes(bytes.subarray(layout.dataOffset), layout.dtype, count, layout.bigEndian);
  return makeTensor(layout.dtype, layout.dims, data);
}

/** Reads a .npy file straight into the tensor's memory (one copy of the data, never two). */
export function readNpy(path: string): Tensor {
  const fd = openForReading(path);
  try {
    const size = fs.fstatSync(fd).size;
    const readAt: ReadAt = (offset, length) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      readFully(fd, out, offset, path);
      return out;
    };
    const layout = layoutOf(readAt, size, path);
    const data = allocateForFile(layout.dtype, elementCount(layout.dims) * lanes(layout.dtype), path);
    readFully(fd, byteView(data), layout.dataOffset, path);
    fixLoadedElements(data, layout.dtype, layout.bigEndian);
    return makeTensor(layout.dtype, layout.dims, data);
  } finally {
    fs.closeSync(fd);
  }
}

/** The numpy descriptor of a dtype, or a UserError for types numpy has no descriptor for. */
function descrOf(dtype: DType): string {
  const descr = dtypeInfo(dtype).numpy;
  if (descr === null) throw new UserError(`A ${dtype} tensor cannot be saved as .npy because numpy has no ${dtype} type; use .pb.`);
  return descr;
}

/** The preamble and header of a .npy file for this dtype and shape, padded so the data is aligned. */
export function encodeNpyHeader(dtype: DType, dims: readonly number[]): Uint8Array {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  const dict = `{'descr': '${descrOf(dtype)}', 'fortran_order': False, 'shape': ${shape}, }`;
  for (const [major, prefix] of [
    [1, 10],
    [2, 12],
  ] as const) {
    const total = Math.ceil((prefix + dict.length + 1) / ALIGN) * ALIGN;
    const headerLength = total - prefix;
    if (major === 1 && headerLength > 0xffff) continue;
    const out = new Uint8Array(total);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, headerLength, true);
    else view.setUint32(8, headerLength, true);
    const text = dict.padEnd(headerLength - 1, ' ') + '\n';
    for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
    return out;
  }
  throw new UserError(`A tensor with ${dims.length} dimensions has a .npy header too long to write.`);
}

/** The .npy file of a tensor as chunks (header, then a view of the tensor's data). */
export function encodeNpy(tensor: Tensor): Uint8Array[] {
  return [encodeNpyHeader(tensor.dtype, tensor.dims), littleEndianBytes(tensor)];
}

/** Writes a tensor as .npy, atomically. */
export function writeNpy(path: string, tensor: Tensor, options?: AtomicWriteOptions): void {
  writeFileAtomic(path, encodeNpy(tensor), options);
}

// ---- A small parser for the Python literals a .npy header may hold --------------------------

/** dict -> Map, tuple and list -> array, str -> string, int -> number, True/False -> boolean, None -> null. */
export type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

class LiteralError extends Error {}

/**
 * Parses one Python literal (dicts with string keys, tuples, lists, strings, integers, floats,
 * True, False, None). Anything else is an error; nothing is ever evaluated.
 */
export function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new LiteralError(`${what} at character ${pos + 1}`);
  };
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = (depth: number): PyValue => {
    if (depth > MAX_NESTING) fail('literals nested too deeply');
    skip();
    const c = text[pos];
    if (c === '{') return dict(depth);
    if (c === '(' || c === '[') return sequence(depth, c === '(' ? ')' : ']');
    if (c === "'" || c === '"') return string();
    const word = /^(True|False|None)\b/.exec(text.slice(pos, pos + 6));
    if (word) {
      pos += word[1].length;
      return word[1] === 'True' ? true : word[1] === 'False' ? false : null;
    }
    const num = /^[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)L?/i.exec(text.slice(pos, pos + 64));
    if (num) {
      pos += num[0].length;
      return Number(num[0].replace(/L$/i, ''));
    }
    return fail(c === undefined ? 'unexpected end' : `unexpected '${displayName(c)}'`);
  };
  const items = (close: string, one: () => void): void => {
    pos++;
    skip();
    while (text[pos] !== close) {
      one();
      skip();
      if (text[pos] === ',') {
        pos++;
        skip();
      } else if (text[pos] !== close) {
        fail(`expected ',' or '${close}'`);
      }
    }
    pos++;
  };
  const sequence = (depth: number, close: string): PyValue[] => {
    const out: PyValue[] = [];
    items(close, () => out.push(value(depth + 1)));
    return out;
  };
  const dict = (depth: number): Map<string, PyValue> => {
    const out = new Map<string, PyValue>();
    items('}', () => {
      const key = value(depth + 1);
      if (typeof key !== 'string') fail('a dict key that is not a string');
      skip();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      out.set(key as string, value(depth + 1));
    });
    return out;
  };
  const string = (): string => {
    const quote = text[pos++];
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        pos++;
        const e = text[pos];
        out += e === 'n' ? '\n' : e === 't' ? '\t' : e === undefined ? '' : e;
      } else {
        out += text[pos];
      }
      pos++;
    }
    if (pos >= text.length) fail('an unterminated string');
    pos++;
    return out;
  };
  const result = value(0);
  skip();
  if (pos < text.length) fail('unexpected text after the literal');
  return result;
}
