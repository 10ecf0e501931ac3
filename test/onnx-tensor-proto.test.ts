import { describe, expect, it } from 'vitest';
import { ALL_DTYPES, type DType } from '../src/core/dtype.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor, type Tensor, type TensorData } from '../src/core/tensor.js';
import { tensorFromProto, tensorToProto } from '../src/onnx/index.js';
import type { TensorProto } from '../src/onnx/proto-types.js';
import { decodeTensorProto, encodeTensorProto } from '../src/onnx/schema.js';
import { sameTensor } from './helpers/graph-diff.js';

/** One small tensor per dtype, with the edge values each type has (extremes, NaN, -0, odd counts). */
const samples: Record<DType, () => Tensor> = {
  float32: () => makeTensor('float32', [2, 3], new Float32Array([0, -0, 1.5, Number.NaN, Infinity, -3.25])),
  uint8: () => makeTensor('uint8', [3], new Uint8Array([0, 255, 7])),
  int8: () => makeTensor('int8', [3], new Int8Array([-128, 127, 0])),
  uint16: () => makeTensor('uint16', [2], new Uint16Array([0, 65535])),
  int16: () => makeTensor('int16', [2], new Int16Array([-32768, 32767])),
  int32: () => makeTensor('int32', [1, 3], new Int32Array([-2147483648, 2147483647, 5])),
  int64: () => makeTensor('int64', [3], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n])),
  string: () => makeTensor('string', [3], ['', 'héllo', '日本']),
  bool: () => makeTensor('bool', [4], new Uint8Array([0, 1, 1, 0])),
  float16: () => makeTensor('float16', [4], new Uint16Array([0x3c00, 0x7c00, 0xfc00, 0x7e00])),
  float64: () => makeTensor('float64', [], new Float64Array([Math.PI])),
  uint32: () => makeTensor('uint32', [2], new Uint32Array([0, 4294967295])),
  uint64: () => makeTensor('uint64', [2], new BigUint64Array([0n, 2n ** 64n - 1n])),
  complex64: () => makeTensor('complex64', [2], new Float32Array([1, -2, 0.5, 3])),
  complex128: () => makeTensor('complex128', [1], new Float64Array([1e300, -1e-300])),
  bfloat16: () => makeTensor('bfloat16', [2], new Uint16Array([0x3f80, 0xff80])),
  float8e4m3fn: () => makeTensor('float8e4m3fn', [3], new Uint8Array([0, 0x7e, 0xff])),
  float8e4m3fnuz: () => makeTensor('float8e4m3fnuz', [2], new Uint8Array([0x80, 1])),
  float8e5m2: () => makeTensor('float8e5m2', [2], new Uint8Array([0x7b, 0xfc])),
  float8e5m2fnuz: () => makeTensor('float8e5m2fnuz', [2], new Uint8Array([0x80, 0x7f])),
  uint4: () => makeTensor('uint4', [3], new Uint8Array([0, 15, 9])),
  int4: () => makeTensor('int4', [5], new Int8Array([-8, 7, -1, 0, 3])),
  float4e2m1: () => makeTensor('float4e2m1', [2, 2], new Uint8Array([0, 15, 8, 7])),
};

function proto(fields: TensorProto): Uint8Array {
  return encodeTensorProto(fields);
}

function userError(f: () => unknown): UserError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('tensorToProto / tensorFromProto round trip', () => {
  it('covers every dtype of the core table', () => {
    expect(Object.keys(samples).sort()).toEqual([...ALL_DTYPES].sort());
  });

  it.each(ALL_DTYPES)('%s', (dtype) => {
    const t = samples[dtype]();
    const back = tensorFromProto(tensorToProto(t, `t_${dtype}`));
    expect(back.name).toBe(`t_${dtype}`);
    expect(sameTensor(back.tensor, t)).toBe(true);
  });

  it('keeps empty tensors', () => {
    const t = makeTensor('float32', [0, 4], new Float32Array(0));
    expect(tensorFromProto(tensorToProto(t, 'e')).tensor.dims).toEqual([0, 4]);
  });

  it('writes raw_data, little endian', () => {
    const p = decodeTensorProto(tensorToProto(makeTensor('int16', [2], new Int16Array([1, -2])), 'x'));
    expect(Array.from(p.raw_data as Uint8Array)).toEqual([1, 0, 0xfe, 0xff]);
    expect(p.data_type).toBe(5);
  });
});

describe('4-bit packing', () => {
  const cases: [DType, TensorData, number[]][] = [
    ['int4', new Int8Array([-8, 7, 1]), [0x78, 0x01]],
    ['int4', new Int8Array([-1, -2]), [0xef]],
    ['uint4', new Uint8Array([1, 2, 15]), [0x21, 0x0f]],
    ['float4e2m1', new Uint8Array([0xa, 0x5]), [0x5a]],
  ];
  it.each(cases)('%s %j packs low nibble first', (dtype, data, bytes) => {
    const t = makeTensor(dtype, [data.length], data);
    const p = decodeTensorProto(tensorToProto(t, 'q'));
    expect(Array.from(p.raw_data as Uint8Array)).toEqual(bytes);
    expect(sameTensor(tensorFromProto(tensorToProto(t, 'q')).tensor, t)).toBe(true);
  });
});

describe('typed data fields', () => {
  const cases: [string, TensorProto, DType, number[], (number | bigint | string)[]][] = [
    ['float_data float32', { data_type: 1, dims: [2], float_data: [1.5, -2] }, 'float32', [2], [1.5, -2]],
    ['float_data complex64', { data_type: 14, dims: [1], float_data: [1, 2] }, 'complex64', [1], [1, 2]],
    ['double_data float64', { data_type: 11, dims: [2], double_data: [0.1, -1e300] }, 'float64', [2], [0.1, -1e300]],
    ['double_data complex128', { data_type: 15, dims: [1], double_data: [3, 4] }, 'complex128', [1], [3, 4]],
    ['int32_data int32', { data_type: 6, dims: [2], int32_data: [-7, 2147483647] }, 'int32', [2], [-7, 2147483647]],
    ['int32_data int8', { data_type: 3, dims: [2], int32_data: [-1, 127] }, 'int8', [2], [-1, 127]],
    ['int32_data uint8', { data_type: 2, dims: [2], int32_data: [255, 0] }, 'uint8', [2], [255, 0]],
    ['int32_data int16', { data_type: 5, dims: [1], int32_data: [-32768] }, 'int16', [1], [-32768]],
    ['int32_data uint16', { data_type: 4, dims: [1], int32_data: [65535] }, 'uint16', [1], [65535]],
    ['int32_data bool (nonzero is true)', { data_type: 9, dims: [3], int32_data: [0, 2, 1] }, 'bool', [3], [0, 1, 1]],
    ['int32_data float16 bits', { data_type: 10, dims: [2], int32_data: [0x3c00, 0xfc00] }, 'float16', [2], [0x3c00, 0xfc00]],
    ['int32_data bfloat16 bits', { data_type: 16, dims: [1], int32_data: [0x3f80] }, 'bfloat16', [1], [0x3f80]],
    ['int32_data float8e4m3fn bits', { data_type: 17, dims: [1], int32_data: [0x7e] }, 'float8e4m3fn', [1], [0x7e]],
    ['int32_data int4 packed', { data_type: 22, dims: [3], int32_data: [0x78, 0x01] }, 'int4', [3], [-8, 7, 1]],
    ['int32_data uint4 packed', { data_type: 21, dims: [2], int32_data: [0xf1] }, 'uint4', [2], [1, 15]],
    ['int64_data int64', { data_type: 7, dims: [2], int64_data: [-(2 ** 40), 3] }, 'int64', [2], [-(2n ** 40n), 3n]],
    [
      'int64_data int64 extremes',
      { data_type: 7, dims: [1], int64_data: [{ low: -1, high: 0x7fffffff, unsigned: false }] },
      'int64',
      [1],
      [2n ** 63n - 1n],
    ],
    ['uint64_data uint32', { data_type: 12, dims: [1], uint64_data: [4294967295] }, 'uint32', [1], [4294967295]],
    [
      'uint64_data uint64',
      { data_type: 13, dims: [1], uint64_data: [{ low: -1, high: -1, unsigned: true }] },
      'uint64',
      [1],
      [2n ** 64n - 1n],
    ],
    [
      'string_data',
      { data_type: 8, dims: [2], string_data: [new TextEncoder().encode('a'), new TextEncoder().encode('ü')] },
      'string',
      [2],
      ['a', 'ü'],
    ],
    ['scalar', { data_type: 1, float_data: [4] }, 'float32', [], [4]],
    [
      'raw_data wins over typed fields',
      { data_type: 1, dims: [1], raw_data: new Uint8Array(new Float32Array([2]).buffer), float_data: [9] },
      'float32',
      [1],
      [2],
    ],
  ];
  it.each(cases)('%s', (_label, fields, dtype, dims, values) => {
    const { tensor } = tensorFromProto(proto(fields));
    expect(tensor.dtype).toBe(dtype);
    expect(tensor.dims).toEqual(dims);
    expect(Array.from(tensor.data as ArrayLike<number | bigint | string>)).toEqual(values);
  });
});

describe('bad bytes are UserErrors naming the source', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['garbage', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), /File 'bad\.pb' is not an ONNX TensorProto \(/],
    ['truncated', tensorToProto(samples.float32(), 'x').slice(0, 12), /File 'bad\.pb' is not an ONNX TensorProto \(index out of range/],
    ['no data type', proto({ dims: [1], float_data: [1] }), /'bad\.pb' has no data type/],
    ['unknown data type', proto({ data_type: 99, dims: [1], raw_data: new Uint8Array(4) }), /data type 99/],
    [
      'raw length disagrees with dims',
      proto({ data_type: 1, dims: [3], raw_data: new Uint8Array(8) }),
      /needs 12 bytes of raw data but holds 8/,
    ],
    [
      'huge dims, little data',
      proto({ data_type: 1, dims: [1e6, 1e6, 1e6], raw_data: new Uint8Array(8) }),
      /needs 4000000000000000000 bytes/,
    ],
    [
      'typed field count disagrees',
      proto({ data_type: 6, dims: [2, 2], int32_data: [1, 2, 3] }),
      /needs 4 values but has 3 values in int32_data/,
    ],
    ['no data at all', proto({ data_type: 1, dims: [5] }), /needs 5 values but has no data/],
    ['string count disagrees', proto({ data_type: 8, dims: [2], string_data: [new Uint8Array([97])] }), /needs 2 strings but holds 1/],
    ['segmented', proto({ data_type: 1, dims: [1], segment: { begin: 0, end: 1 }, float_data: [1] }), /stored in segments/],
    [
      'external data without a directory',
      proto({ data_type: 1, dims: [1], data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }] }),
      /external file 'w\.bin'.*no directory/,
    ],
    ['negative dim', proto({ data_type: 1, dims: [-1], float_data: [] }), /negative dimension -1/],
  ];
  it.each(cases)('%s', (_label, bytes, message) => {
    const e = userError(() => tensorFromProto(bytes, 'bad.pb'));
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/bad\.pb/);
  });

  it('a huge dims product does not allocate (fails fast)', () => {
    const started = Date.now();
    userError(() => tensorFromProto(proto({ data_type: 7, dims: [2 ** 26, 2 ** 26], int64_data: [1] }), 'big.pb'));
    expect(Date.now() - started).toBeLessThan(200);
  });
});
