import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DType } from '../src/core/dtype.js';
import { UserError } from '../src/core/errors.js';
import { floatToHalf } from '../src/core/float16.js';
import { makeTensor, type Tensor, type TensorData } from '../src/core/tensor.js';
import { encodeNpy, encodeNpyHeader, parseNpy, parsePyLiteral, readNpy, writeNpy } from '../src/store/npy.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A .npy file with a hand-written header (version 1, 2 or 3) and data bytes. */
function npyBytes(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const text = new TextEncoder().encode(`${header}\n`);
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, prefix);
  out.set(data, prefix + text.length);
  return out;
}

const samples: [DType, readonly number[], TensorData][] = [
  ['float32', [2, 3], new Float32Array([0, 1.5, -2, Number.NaN, Number.POSITIVE_INFINITY, -0])],
  ['float64', [3], new Float64Array([1e300, -1e-300, 0.1])],
  ['float16', [2], new Uint16Array([floatToHalf(1.5), floatToHalf(-65504)])],
  ['int8', [4], new Int8Array([-128, -1, 0, 127])],
  ['uint8', [1, 2], new Uint8Array([0, 255])],
  ['int16', [2], new Int16Array([-32768, 32767])],
  ['uint16', [2], new Uint16Array([0, 65535])],
  ['int32', [2], new Int32Array([-2147483648, 2147483647])],
  ['uint32', [2], new Uint32Array([0, 4294967295])],
  ['int64', [3], new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 7n])],
  ['uint64', [1], new BigUint64Array([2n ** 64n - 1n])],
  ['bool', [3], new Uint8Array([1, 0, 1])],
  ['complex64', [2], new Float32Array([1, 2, 3, -4])],
  ['complex128', [1], new Float64Array([0.5, -0.25])],
  ['float32', [], new Float32Array([42])],
  ['float32', [0, 3], new Float32Array(0)],
];

function expectSame(a: Tensor, b: Tensor): void {
  expect(a.dtype).toBe(b.dtype);
  expect([...a.dims]).toEqual([...b.dims]);
  expect(Array.from(a.data as ArrayLike<unknown>)).toEqual(Array.from(b.data as ArrayLike<unknown>));
}

describe('.npy round trip', () => {
  it.each(samples.map(([d, s, v]) => [d, JSON.stringify(s), makeTensor(d, s, v)] as const))('%s %s', (_d, _s, tensor) => {
    const bytes = concat(encodeNpy(tensor));
    expectSame(parseNpy(bytes, 'mem.npy'), tensor);
    const file = join(dir, `rt-${tensor.dtype}-${tensor.dims.join('x')}.npy`);
    writeNpy(file, tensor, { fsync: false });
    expectSame(readNpy(file), tensor);
  });

  it.each([[[2, 3]], [[]], [[7]], [[1, 2, 3, 4, 5, 6, 7, 8]]])('header for shape %j is version 1.0 and 64-byte aligned', (dims) => {
    const header = encodeNpyHeader('float32', dims);
    expect(header[6]).toBe(1);
    expect(header.length % 64).toBe(0);
    expect(header[header.length - 1]).toBe(0x0a);
  });

  it('writes shape (n,) for 1-D and () for scalars', () => {
    const text = (dims: number[]) => new TextDecoder().decode(encodeNpyHeader('float32', dims));
    expect(text([3])).toContain("'shape': (3,)");
    expect(text([])).toContain("'shape': ()");
    expect(text([2, 3])).toContain("'shape': (2, 3)");
  });

  it('switches to version 2.0 when the header exceeds 65535 bytes', () => {
    const dims = new Array(30000).fill(1);
    const header = encodeNpyHeader('uint8', dims);
    expect(header[6]).toBe(2);
    expect(header.length % 64).toBe(0);
    expectSame(parseNpy(concat([header, new Uint8Array([9])]), 'v2.npy'), makeTensor('uint8', dims, new Uint8Array([9])));
  });

  it('rejects dtypes numpy does not have', () => {
    expect(() => encodeNpy(makeTensor('bfloat16', [1], new Uint16Array(1)))).toThrow(/bfloat16.*\.pb/);
  });
});

describe('.npy reading', () => {
  const f32 = (values: number[], bigEndian = false) => {
    const b = new Uint8Array(values.length * 4);
    values.forEach((v, i) => new DataView(b.buffer).setFloat32(i * 4, v, !bigEndian));
    return b;
  };

  it.each([1, 2, 3])('reads header version %i.0', (major) => {
    const t = parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32([1, 2]), major), 'v.npy');
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2]);
  });

  it.each([
    ['big-endian float32', "{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}", f32([1.5, -3], true), 'float32', [1.5, -3]],
    ['double quotes, no spaces', '{"descr":"<f4","fortran_order":False,"shape":(1,)}', f32([7]), 'float32', [7]],
    [
      'keys in another order, extra key',
      "{'shape': (1,), 'extra': None, 'fortran_order': False, 'descr': '<f4'}",
      f32([2]),
      'float32',
      [2],
    ],
    ['big-endian int16', "{'descr': '>i2', 'fortran_order': False, 'shape': (1,)}", new Uint8Array([0xff, 0xfe]), 'int16', [-2]],
    ['bool bytes other than 1', "{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", new Uint8Array([0, 7]), 'bool', [0, 1]],
    ['python 2 long dims', "{'descr': '<u1', 'fortran_order': False, 'shape': (2L,)}", new Uint8Array([3, 4]), 'uint8', [3, 4]],
    ['native order =', "{'descr': '=i4', 'fortran_order': False, 'shape': (1,)}", new Uint8Array([5, 0, 0, 0]), 'int32', [5]],
  ] as const)('%s', (_what, header, data, dtype, values) => {
    const t = parseNpy(npyBytes(header, data), 'x.npy');
    expect(t.dtype).toBe(dtype);
    expect(Array.from(t.data as ArrayLike<number>)).toEqual(values);
  });

  const errors: [string, Uint8Array, RegExp][] = [
    ['not npy', new TextEncoder().encode('hello world, not numpy'), /'bad\.npy' is not a \.npy file/],
    ['empty file', new Uint8Array(0), /is not a \.npy file/],
    ['version 4.0', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f32([1]), 4), /unsupported format version 4\.0/],
    ['fortran order', npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}", f32([1])), /Fortran-order/],
    ['structured dtype', npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", f32([1])), /structured array/],
    ['unicode dtype', npyBytes("{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}", new Uint8Array(12)), /numpy dtype '<U3'/],
    ['object dtype', npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", new Uint8Array(8)), /numpy dtype '\|O'/],
    ['missing shape', npyBytes("{'descr': '<f4', 'fortran_order': False}", f32([1])), /bad \.npy header \(the header needs the keys/],
    [
      'negative dim',
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", f32([1])),
      /'shape' is not a tuple of non-negative integers/,
    ],
    ['fractional dim', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", f32([1])), /'shape' is not a tuple/],
    [
      'truncated data',
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", f32([1, 2])),
      /truncated or corrupt.*needs 12 bytes.*holds 8/,
    ],
    ['trailing bytes', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", f32([1, 2])), /truncated or corrupt/],
    [
      '10^12 elements',
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000)}", f32([1])),
      /needs 4000000000000 bytes/,
    ],
    [
      '2^80 elements',
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}", f32([1])),
      /too many elements/,
    ],
    [
      'header longer than file',
      (() => {
        const b = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': ()}");
        new DataView(b.buffer).setUint16(8, 60000, true);
        return b;
      })(),
      /the file ends before/,
    ],
    [
      'huge v2 header length',
      (() => {
        const b = npyBytes('{}', new Uint8Array(0), 2);
        new DataView(b.buffer).setUint32(8, 0xffffffff, true);
        return b;
      })(),
      /too long/,
    ],
    ['unterminated string', npyBytes("{'descr': '<f4, 'fortran_order': False, 'shape': ()}"), /bad \.npy header/],
    ['not a dict', npyBytes("('<f4', False, ())"), /the header is not a dict/],
    ['code instead of literal', npyBytes("__import__('os').system('true')"), /bad \.npy header \(unexpected '_'/],
    [
      'deep nesting',
      npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}${')'.repeat(5000)}}`),
      /nested too deeply/,
    ],
  ];
  it.each(errors)('rejects %s with a UserError naming the file', (_what, bytes, message) => {
    let caught: unknown;
    try {
      parseNpy(bytes, 'bad.npy');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as Error).message).toMatch(/File 'bad\.npy'/);
    expect((caught as Error).message).toMatch(message);
  });

  it('rejects a 200-byte file claiming 10^12 elements before allocating (file reader)', () => {
    const file = join(dir, 'huge.npy');
    const bytes = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}", new Uint8Array(72));
    writeFileSync(file, bytes);
    expect(() => readNpy(file)).toThrow(UserError);
    expect(() => readNpy(file)).toThrow(/huge\.npy' is truncated or corrupt/);
  });

  it('names a missing file', () => {
    expect(() => readNpy(join(dir, 'nope.npy'))).toThrow(/nope\.npy' cannot be opened \(ENOENT\)/);
  });
});

describe('parsePyLiteral', () => {
  it.each([
    ["{'a': 1, }", new Map([['a', 1]])],
    ['()', []],
    ['(3,)', [3]],
    ['(1, 2, 3)', [1, 2, 3]],
    ['[True, False, None]', [true, false, null]],
    ["'it\\'s'", "it's"],
    ['-1.5e3', -1500],
    ["{'x': {'y': (1, [2])}}", new Map([['x', new Map([['y', [1, [2]]]])]])],
  ] as const)('%s', (text, expected) => {
    expect(parsePyLiteral(text)).toEqual(expected);
  });

  it.each(['{1: 2}', '(1 2)', "{'a' 1}", 'Truth', '1 2', '', '{', "'abc"])('rejects %j', (text) => {
    expect(() => parsePyLiteral(text)).toThrow();
  });
});

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy) console.log('skipping numpy interoperability tests: python3 with numpy is not available');

describe.skipIf(!hasNumpy)('numpy interoperability', () => {
  it('numpy loads every file we write with the right dtype, shape and values', () => {
    const expected: Record<string, { descr: string; shape: number[]; values: string[] }> = {};
    samples.forEach(([dtype, dims, values], i) => {
      const file = join(dir, `ours-${i}.npy`);
      writeNpy(file, makeTensor(dtype, dims, values), { fsync: false });
      expected[file] = { descr: '', shape: [...dims], values: [] };
    });
    const script = `
import json, sys, numpy as np
out = {}
for f in sys.argv[1:]:
    a = np.load(f)
    flat = a.reshape(-1)
    if a.dtype.kind == 'c':
        flat = flat.view(np.float32 if a.dtype.itemsize == 8 else np.float64)
    out[f] = {'descr': a.dtype.str, 'shape': list(a.shape),
              'flat': [repr(float(x)) if a.dtype.kind in 'fc' else str(int(x)) for x in flat.tolist()]}
print(json.dumps(out))
`;
    const got = JSON.parse(execFileSync('python3', ['-c', script, ...Object.keys(expected)], { encoding: 'utf8' })) as Record<
      string,
      { descr: string; shape: number[]; flat: string[] }
    >;
    samples.forEach(([dtype, dims, values], i) => {
      const file = join(dir, `ours-${i}.npy`);
      const g = got[file];
      const descr: Record<string, string> = {
        float32: '<f4',
        float64: '<f8',
        float16: '<f2',
        int8: '|i1',
        uint8: '|u1',
        int16: '<i2',
        uint16: '<u2',
        int32: '<i4',
        uint32: '<u4',
        int64: '<i8',
        uint64: '<u8',
        bool: '|b1',
        complex64: '<c8',
        complex128: '<c16',
      };
      expect(g.descr, file).toBe(descr[dtype]);
      expect(g.shape).toEqual([...dims]);
      const asNumbers = g.flat.map((s) => (s === 'nan' ? Number.NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s)));
      if (dtype === 'float16') expect(asNumbers).toEqual([1.5, -65504]);
      else if (dtype === 'int64' || dtype === 'uint64') expect(g.flat).toEqual(Array.from(values as BigInt64Array, String));
      else expect(asNumbers).toEqual(Array.from(values as ArrayLike<number>));
    });
  });

  it('reads what numpy writes: np.save and format versions 1.0, 2.0 and 3.0', () => {
    const script = `
import sys, numpy as np
d = sys.argv[1]
np.save(d + '/f32.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
np.save(d + '/f16.npy', np.array([0.5, -2, 65504], dtype=np.float16))
np.save(d + '/i64.npy', np.array([-(2**63), 2**53 + 1, 3], dtype=np.int64))
np.save(d + '/b.npy', np.array([[True, False]]))
np.save(d + '/be.npy', np.array([1.25, -8], dtype='>f8'))
np.save(d + '/scalar.npy', np.float32(3.5))
np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
for v in [(1, 0), (2, 0), (3, 0)]:
    with open(d + '/v%d.npy' % v[0], 'wb') as f:
        np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype=np.int16), version=v)
`;
    execFileSync('python3', ['-c', script, dir]);
    const cases: [string, DType, number[], (number | bigint)[]][] = [
      ['f32', 'float32', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]],
      ['f16', 'float16', [3], [0x3800, 0xc000, 0x7bff]],
      ['i64', 'int64', [3], [-(2n ** 63n), 2n ** 53n + 1n, 3n]],
      ['b', 'bool', [1, 2], [1, 0]],
      ['be', 'float64', [2], [1.25, -8]],
      ['scalar', 'float32', [], [3.5]],
      ['v1', 'int16', [2, 2], [1, 2, 3, 4]],
      ['v2', 'int16', [2, 2], [1, 2, 3, 4]],
      ['v3', 'int16', [2, 2], [1, 2, 3, 4]],
    ];
    for (const [name, dtype, dims, values] of cases) {
      const file = join(dir, `${name}.npy`);
      for (const t of [readNpy(file), parseNpy(readFileSync(file), file)]) {
        expect(t.dtype, name).toBe(dtype);
        expect([...t.dims], name).toEqual(dims);
        expect(Array.from(t.data as ArrayLike<number | bigint>), name).toEqual(values);
      }
    }
    expect(readFileSync(join(dir, 'v2.npy'))[6]).toBe(2);
    expect(readFileSync(join(dir, 'v3.npy'))[6]).toBe(3);
    expect(() => readNpy(join(dir, 'fortran.npy'))).toThrow(/Fortran-order/);
  });
});
