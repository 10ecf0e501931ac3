import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DType } from '../src/core/dtype.js';
import { UserError } from '../src/core/errors.js';
import { floatToHalf } from '../src/core/float16.js';
import { makeTensor, type Tensor, type TensorData } from '../src/core/tensor.js';
import { encodeRawBin, parseRawBin } from '../src/store/raw-bin.js';
import { formatTextTensor, parseTextTensor } from '../src/store/text-tensor.js';
import { readTensorFile, tensorFormatOf, writeTensorFile } from '../src/store/tensor-file.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-tf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint>);

function userErrorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as Error;
  }
  throw new Error('expected a UserError');
}

describe('raw .bin', () => {
  it.each([
    ['float32', [2], [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], [1, -2]],
    ['int16', [1, 2], [1, 0, 0xff, 0xff], [1, -1]],
    ['uint8', [3], [1, 2, 255], [1, 2, 255]],
    ['bool', [2], [0, 5], [0, 1]],
    ['int64', [1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [-1n]],
    ['float16', [1], [0x00, 0x3c], [0x3c00]],
  ] as const)('%s %j', (dtype, dims, bytes, expected) => {
    const t = parseRawBin(new Uint8Array(bytes), dtype, dims, 'a.bin');
    expect(t.dtype).toBe(dtype);
    expect(values(t)).toEqual(expected);
    if (dtype !== 'bool') expect(Array.from(encodeRawBin(t))).toEqual(bytes);
  });

  it('defaults to 1-D', () => {
    expect(parseRawBin(new Uint8Array(8), 'float32', undefined, 'a.bin').dims).toEqual([2]);
  });

  it.each([
    [
      'size mismatch',
      () => parseRawBin(new Uint8Array(7), 'float32', [2], 'a.bin'),
      /'a\.bin' holds 7 bytes but a float32 tensor of shape \[2\] needs 8 bytes/,
    ],
    ['not whole elements', () => parseRawBin(new Uint8Array(7), 'float32', undefined, 'a.bin'), /not a whole number of float32 elements/],
    ['4-bit type', () => parseRawBin(new Uint8Array(2), 'int4', [4], 'a.bin'), /cannot be read as raw int4/],
    ['bad dims', () => parseRawBin(new Uint8Array(4), 'float32', [-1], 'a.bin'), /not a non-negative integer/],
  ])('%s', (_what, fn, message) => {
    expect(userErrorOf(fn).message).toMatch(message);
  });
});

describe('text tensors', () => {
  it.each([
    ['one per line', '1\n2.5\n-3\n', {}, 'float32', [3], [1, 2.5, -3]],
    ['spaces, commas, tabs, CRLF', '1, 2\t3\r\n4 ,5', {}, 'float32', [5], [1, 2, 3, 4, 5]],
    [
      'nan and infinities',
      'nan\nInf\n-inf\n+infinity\nNaN',
      { dtype: 'float64' as DType },
      'float64',
      [5],
      [Number.NaN, Infinity, -Infinity, Infinity, Number.NaN],
    ],
    ['shape given', '1 2 3 4 5 6', { shape: [2, 3] }, 'float32', [2, 3], [1, 2, 3, 4, 5, 6]],
    ['brackets and comments', '# header\n[[1, 2], [3, 4]]  # rows', {}, 'float32', [4], [1, 2, 3, 4]],
    ['integers written as floats', '3.000000000000000000e+00\n-1e0', { dtype: 'int8' as DType }, 'int8', [2], [3, -1]],
    ['exact int64', '9007199254740993\n-9223372036854775808', { dtype: 'int64' as DType }, 'int64', [2], [9007199254740993n, -(2n ** 63n)]],
    ['float16', '1.5\n65504', { dtype: 'float16' as DType }, 'float16', [2], [floatToHalf(1.5), floatToHalf(65504)]],
    ['empty', '', {}, 'float32', [0], []],
  ] as const)('%s', (_what, text, options, dtype, dims, expected) => {
    const t = parseTextTensor(text, options, 'a.txt');
    expect(t.dtype).toBe(dtype);
    expect([...t.dims]).toEqual(dims);
    expect(values(t)).toEqual(expected);
  });

  it.each([
    ['bad token', '1\n2\nabc\n', {}, /File 'a\.txt' line 3: 'abc' is not a number/],
    ['hex is not accepted', '0x10', {}, /line 1: '0x10' is not a number/],
    ['fraction for int', '1\n2.5', { dtype: 'int32' as DType }, /line 2: 2\.5 is not an integer/],
    ['out of range', '300', { dtype: 'uint8' as DType }, /line 1: 300 does not fit in uint8/],
    ['int64 out of range', '9223372036854775808', { dtype: 'int64' as DType }, /does not fit in int64/],
    ['shape mismatch', '1 2 3', { shape: [2, 2] }, /holds 3 values but the shape \[2,2\] needs 4/],
    ['string dtype', '1', { dtype: 'string' as DType }, /cannot be read as string text/],
  ])('%s', (_what, text, options, message) => {
    expect(userErrorOf(() => parseTextTensor(text, options, 'a.txt')).message).toMatch(message);
  });

  it.each([
    ['float32', [0.1, -2, 1e-8, 3.4028234663852886e38, Number.NaN, -Infinity], '0.1\n-2\n1e-8\n3.4028235e+38\nnan\n-inf\n'],
    ['float64', [0.1, 1 / 3], `0.1\n${String(1 / 3)}\n`],
    ['int64', [-5n, 2n ** 62n], `-5\n${2n ** 62n}\n`],
  ] as const)('writes %s with the shortest exact text', (dtype, data, text) => {
    const array: TensorData =
      dtype === 'float32'
        ? new Float32Array(data as unknown as number[])
        : dtype === 'float64'
          ? new Float64Array(data as unknown as number[])
          : new BigInt64Array(data as unknown as bigint[]);
    const t = makeTensor(dtype, [data.length], array);
    const written = formatTextTensor(t);
    expect(written).toBe(text);
    expect(values(parseTextTensor(written, { dtype }, 'rt.txt'))).toEqual(values(t));
  });
});

describe('readTensorFile / writeTensorFile', () => {
  const t = makeTensor('float32', [2, 2], new Float32Array([1, -2.5, 3, 1e-3]));

  it.each(['npy', 'pb', 'bin', 'txt'])('round trips .%s', (ext) => {
    const file = join(dir, `rt.${ext}`);
    writeTensorFile(file, t, { fsync: false });
    const back = readTensorFile(file, ext === 'bin' || ext === 'txt' ? { shape: [2, 2] } : {});
    expect(back.dtype).toBe('float32');
    expect([...back.dims]).toEqual([2, 2]);
    expect(values(back)).toEqual(values(t));
  });

  it('stores the given name in a .pb file', () => {
    const file = join(dir, 'named.pb');
    writeTensorFile(file, t, { name: 'conv/out:0', fsync: false });
    expect(readFileSync(file).includes(Buffer.from('conv/out:0'))).toBe(true);
  });

  it('reshapes a flat .npy dump when the element counts match', () => {
    const file = join(dir, 'flat.npy');
    writeTensorFile(file, makeTensor('float32', [4], new Float32Array([1, 2, 3, 4])), { fsync: false });
    expect([...readTensorFile(file, { shape: [1, 2, 2] }).dims]).toEqual([1, 2, 2]);
  });

  it.each([
    ['unknown extension', 'x.csv', {}, /'.*x\.csv' has an unknown tensor file extension; use \.npy, \.pb, \.bin, \.raw, \.txt/],
    ['missing file', 'missing.npy', {}, /missing\.npy' cannot be opened \(ENOENT\)/],
    ['missing .txt', 'missing.txt', {}, /missing\.txt' cannot be read \(ENOENT\)/],
    ['missing .pb', 'missing.pb', {}, /missing\.pb' cannot be read \(ENOENT\)/],
    ['dtype mismatch', 'rt.npy', { dtype: 'int32' as DType }, /holds float32 data, not the int32/],
    ['shape mismatch', 'rt.npy', { shape: [3] }, /shape \[2,2\], which cannot be read as shape \[3\]/],
    ['directory', 'adir.npy', {}, /adir\.npy' cannot be read \(EISDIR\)/],
    ['garbage .pb', 'garbage.pb', {}, /garbage\.pb' is not an ONNX TensorProto/],
  ])('%s', (_what, name, options, message) => {
    mkdirSync(join(dir, 'adir.npy'), { recursive: true });
    writeFileSync(join(dir, 'garbage.pb'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    if (!existsSync(join(dir, 'rt.npy'))) writeTensorFile(join(dir, 'rt.npy'), t, { fsync: false });
    expect(userErrorOf(() => readTensorFile(join(dir, name), options)).message).toMatch(message);
  });

  it.each([
    ['a.NPY', 'npy'],
    ['a.b.pb', 'pb'],
    ['a.raw', 'bin'],
    ['a.bin', 'bin'],
    ['a.txt', 'txt'],
    ['a.json', undefined],
    ['npy', undefined],
  ])('format of %s is %s', (file, format) => {
    expect(tensorFormatOf(file)).toBe(format);
  });
});
