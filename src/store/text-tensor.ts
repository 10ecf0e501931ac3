import { displayName } from '../core/closest.js';
import { dtypeInfo, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from '../core/float16.js';
import { allocate, elementCount, makeTensor, type Tensor } from '../core/tensor.js';

/**
 * Tensors as text: numbers separated by newlines, spaces, tabs, commas or semicolons (square
 * brackets are read as separators too, so a printed list loads; they do not give a shape). `#`
 * starts a comment that runs to the end of the line. `nan`, `inf`, `-inf` and `infinity` are
 * accepted in any case. The shape is given by the caller, or the tensor is 1-D.
 *
 * Integer dtypes accept integral values written as floats (np.savetxt writes `3.000e+00`) and
 * reject fractions and values out of range. Writing puts one value per line, with the shortest
 * text that reads back to the same value.
 */

export interface TextTensorOptions {
  /** Element type; default float32. */
  readonly dtype?: DType;
  /** Dimensions; default 1-D with as many elements as the text holds. */
  readonly shape?: readonly number[];
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;
const SPECIAL = /^([-+]?)(nan|inf|infinity)$/i;
const INTEGER = /^[-+]?\d+$/;
const SEPARATORS = /[\s,;[\]]+/;

const intRange: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  bool: [0, 1],
};
const bigRange: Partial<Record<DType, [bigint, bigint]>> = {
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
};

function parseToken(token: string): number | undefined {
  if (NUMBER.test(token)) return Number(token);
  const m = SPECIAL.exec(token);
  if (!m) return undefined;
  if (m[2].toLowerCase() === 'nan') return Number.NaN;
  return m[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** Parses the text of a tensor file; `source` names the file in errors. */
export function parseTextTensor(text: string, options: TextTensorOptions, source: string): Tensor {
  const dtype = options.dtype ?? 'float32';
  const info = dtypeInfo(dtype);
  const big = bigRange[dtype];
  const range = intRange[dtype];
  if (!info.numeric || (!info.isFloat && !big && !range) || dtype === 'complex64' || dtype === 'complex128' || info.bits < 8) {
    throw new UserError(
      `File '${displayName(source, 400)}' cannot be read as ${dtype} text; text tensors hold float or integer types of 8 to 64 bits.`,
    );
  }
  const numbers: number[] = [];
  const bigints: bigint[] = [];
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const hash = lines[li].indexOf('#');
    const line = hash >= 0 ? lines[li].slice(0, hash) : lines[li];
    for (const token of line.split(SEPARATORS)) {
      if (token === '') continue;
      const where = (): string => `File '${displayName(source, 400)}' line ${li + 1}`;
      const value = parseToken(token);
      if (value === undefined) throw new UserError(`${where()}: '${displayName(token, 40)}' is not a number.`);
      if (info.isFloat) {
        numbers.push(value);
        continue;
      }
      if (!Number.isInteger(value)) throw new UserError(`${where()}: ${displayName(token, 40)} is not an integer, as ${dtype} needs.`);
      if (big) {
        // Integer literals are read exactly; 2^53 and above would lose digits through Number.
        const exact = INTEGER.test(token) ? BigInt(token) : BigInt(value);
        if (exact < big[0] || exact > big[1]) throw new UserError(`${where()}: ${displayName(token, 40)} does not fit in ${dtype}.`);
        bigints.push(exact);
      } else if (range) {
        if (value < range[0] || value > range[1]) throw new UserError(`${where()}: ${displayName(token, 40)} does not fit in ${dtype}.`);
        numbers.push(value);
      }
    }
  }
  const count = big ? bigints.length : numbers.length;
  const dims = options.shape ?? [count];
  if (elementCount(dims) !== count) {
    throw new UserError(
      `File '${displayName(source, 400)}' holds ${count} values but the shape [${dims.join(',')}] needs ${elementCount(dims)}.`,
    );
  }
  const data = allocate(dtype, count);
  if (big) {
    (data as BigInt64Array | BigUint64Array).set(bigints);
  } else if (dtype === 'float16') {
    const h = data as Uint16Array;
    for (let i = 0; i < count; i++) h[i] = floatToHalf(numbers[i]);
  } else if (dtype === 'bfloat16') {
    const h = data as Uint16Array;
    for (let i = 0; i < count; i++) h[i] = floatToBfloat16(numbers[i]);
  } else {
    (data as Float64Array).set(numbers);
  }
  return makeTensor(dtype, dims, data);
}

function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  return String(x);
}

/** The shortest decimal that reads back to the same float32 value. */
function formatFloat32(x: number): string {
  if (!Number.isFinite(x)) return formatNumber(x);
  for (let p = 1; p < 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(Number(x.toPrecision(9)));
}

/** One value per line (complex, string and 4-bit types are rejected). */
export function formatTextTensor(tensor: Tensor): string {
  const info = dtypeInfo(tensor.dtype);
  if (!info.numeric || info.bits < 8 || tensor.dtype === 'complex64' || tensor.dtype === 'complex128') {
    throw new UserError(`A ${tensor.dtype} tensor cannot be written as text; use .pb.`);
  }
  const d = tensor.data;
  const out = new Array<string>(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number | bigint;
    if (typeof v === 'bigint') out[i] = v.toString();
    else if (tensor.dtype === 'float32') out[i] = formatFloat32(v);
    else if (tensor.dtype === 'float16') out[i] = formatNumber(halfToFloat(v));
    else if (tensor.dtype === 'bfloat16') out[i] = formatNumber(bfloat16ToFloat(v));
    else out[i] = formatNumber(v);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
