import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DType } from '../src/core/dtype.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { readModel } from '../src/store/model-file.js';
import { graphOf } from '../src/onnx/index.js';
import { readCalibrationTable } from '../src/store/calibration-file.js';
import { rangeFromTable } from '../src/quant/calibration-table.js';
import { parsePlanText } from '../src/store/plan-file.js';
import { resolvePlan } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { builtinProfiles, parseProfile } from '../src/quant/profile.js';
import { readManifest } from '../src/store/manifest.js';
import { encodeNpy, parseNpy } from '../src/store/npy.js';
import { parseRawBin, readRawBin } from '../src/store/raw-bin.js';
import { readRunTensor, RunDir } from '../src/store/run-dir.js';
import { formatTextTensor, parseTextTensor } from '../src/store/text-tensor.js';
import { readTensorFile } from '../src/store/tensor-file.js';
import { describeReport, fuzz, int, mutateBytes, mutateJsonText, mutateJsonValue, pick, type Random } from './helpers/fuzz.js';

/**
 * Seeded mutation fuzzing of every file reader besides ONNX: `.npy` (in memory and from disk),
 * raw `.bin`, text tensors, run manifests (and the tensor files they list), plan files (resolved
 * against a real graph), profiles and calibration tables. Each case must load or end in a UserError
 * that is one clean sentence (see helpers/fuzz.ts).
 */

const repo = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'qs-fuzz-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const concat = (chunks: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

const tensors: Tensor[] = [
  makeTensor('float32', [2, 3], new Float32Array([0, 1.5, -2, Number.NaN, Infinity, -0])),
  makeTensor('float64', [4], new Float64Array([1e-310, -1e300, 0.1, 5])),
  makeTensor('int64', [3], new BigInt64Array([-1n, 0n, 1n << 62n])),
  makeTensor('uint8', [1, 2, 2], new Uint8Array([0, 127, 128, 255])),
  makeTensor('int8', [5], new Int8Array([-128, -1, 0, 1, 127])),
  makeTensor('float16', [2, 2], new Uint16Array([0x3c00, 0x7c00, 0x7e00, 0x0001])),
  makeTensor('bool', [3], new Uint8Array([0, 1, 1])),
  makeTensor('complex64', [2], new Float32Array([1, 2, 3, 4])),
  makeTensor('int32', [], new Int32Array([42])),
  makeTensor('float32', [0, 4], new Float32Array(0)),
  makeTensor('uint16', [3, 1], new Uint16Array([1, 2, 65535])),
];
const npyCorpus = tensors.map((t) => concat(encodeNpy(t)));

/** Header edits a hostile or broken writer might produce (the bytes after the header are kept). */
const NPY_HEADERS = [
  "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000, 1000000), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }",
  "{'descr': '<f8', 'fortran_order': False, 'shape': (9007199254740993,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }",
  "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
  "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
  "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
  "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
  "{'descr': '<U8', 'fortran_order': False, 'shape': (1,), }",
  "{'descr': '<f4', 'shape': (6,), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((((((((((((2,),),),),),),),),),),),),),),),),),),),), }",
  `{'descr': '<f4', 'fortran_order': False, 'shape': (${Array(2000).fill(1).join(',')}), }`,
  "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), '\u001b[31m': __import__('os').system('x'), }",
  "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)",
  "{'descr': '<f4\\', 'fortran_order': False, 'shape': (6,), }",
  '[1, 2, 3]',
];

function npyWithHeader(header: string, data: Uint8Array, major: number): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const text = new TextEncoder().encode(`${header}\n`);
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, Math.min(0xffff, text.length), true);
  else view.setUint32(8, text.length, true);
  out.set(text, prefix);
  out.set(data, prefix + text.length);
  return out;
}

function npyCase(r: Random): { bytes: Uint8Array; kind: string } {
  const k = int(r, 0, npyCorpus.length - 1);
  const choice = r();
  if (choice < 0.3) {
    const data = new Uint8Array(pick(r, [0, 4, 24, 64]));
    return { bytes: npyWithHeader(pick(r, NPY_HEADERS), data, pick(r, [1, 2, 3])), kind: 'npy:header' };
  }
  if (choice < 0.4) {
    // The header-length field itself set to a huge or a wrong value.
    const b = npyCorpus[k].slice();
    const view = new DataView(b.buffer);
    view.setUint16(8, pick(r, [0, 1, 0xffff, b.length]), true);
    if (r() < 0.5) {
      b[6] = pick(r, [2, 3]);
      view.setUint32(8, pick(r, [0xffffffff, 1 << 20, (1 << 20) + 1, b.length]), true);
    }
    return { bytes: b, kind: 'npy:header-length' };
  }
  const m = mutateBytes(npyCorpus[k], r);
  return { bytes: m.value, kind: `bytes:${m.kind}` };
}

describe('fuzzing the .npy reader', () => {
  it('survives mutated headers and bytes, in memory and from disk', async () => {
    const fileOf = (i: number) => path.join(work, `case-${i}.npy`);
    const report = await fuzz({ target: 'npy', seed: 0x6e7079, cases: 5000 }, (r, i) => {
      const c = npyCase(r);
      const fromDisk = i % 3 === 0;
      return {
        size: c.bytes.length,
        kind: c.kind,
        run: () => {
          if (!fromDisk) {
            parseNpy(c.bytes, 'fuzz.npy');
            return;
          }
          writeFileSync(fileOf(i), c.bytes);
          readTensorFile(fileOf(i), r() < 0.2 ? { shape: [pick(r, [6, 1e12, 0])] } : {});
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(5000);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.rejected).toBeGreaterThan(report.cases / 2);
  });
});

const RAW_DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'int64',
  'uint64',
  'bool',
  'float16',
  'bfloat16',
  'complex128',
  'int4',
  'string',
];

describe('fuzzing the raw .bin and text readers', () => {
  it('reads raw bytes only when dtype and shape account for every byte', async () => {
    const fileOf = (i: number) => path.join(work, `case-${i}.bin`);
    const report = await fuzz({ target: 'raw-bin', seed: 0x62696e, cases: 2500 }, (r, i) => {
      const fromMemory = i % 4 !== 0;
      const base = new Uint8Array(pick(r, [0, 1, 7, 8, 24, 96]));
      const m = mutateBytes(base, r);
      const dtype = pick(r, RAW_DTYPES);
      const dims =
        r() < 0.3
          ? undefined
          : Array.from({ length: int(r, 0, 4) }, () => pick(r, [0, 1, 2, 3, 6, 1e6, 2 ** 31, 1e12, 2 ** 53, -1, 1.5, Number.NaN]));
      return {
        size: m.value.length,
        kind: `${m.kind}/${dims === undefined ? 'no-shape' : 'shape'}`,
        run: () => {
          if (fromMemory) {
            parseRawBin(m.value, dtype, dims, 'fuzz.bin');
            return;
          }
          writeFileSync(fileOf(i), m.value);
          readRawBin(fileOf(i), dtype, dims);
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(2500);
  });

  it('reads text tensors only when every token is a number of the dtype', async () => {
    const texts = tensors
      .filter((t) => !['complex64', 'bool'].includes(t.dtype))
      .map((t) => ({ text: formatTextTensor(t), dtype: t.dtype, dims: t.dims }));
    texts.push({ text: '# comment\n[1, 2; 3]\n nan -inf Infinity 3.000e+00\n', dtype: 'float32', dims: [7] });
    const TOKENS = [
      '1e999',
      '-1e999',
      'nan',
      'NaN',
      '0x10',
      '1_000',
      '١٢',
      '\u0000',
      '\u001b[31m',
      '9223372036854775808',
      '-9223372036854775809',
      '18446744073709551616',
      '3.5',
      '1e-400',
      '-0',
      '+',
      '.',
      'e5',
      'L'.repeat(5000),
      '\r\n',
      ',,,',
      '#',
    ];
    const fileOf = (i: number) => path.join(work, `case-${i}.txt`);
    const report = await fuzz({ target: 'text', seed: 0x747874, cases: 3000 }, (r, i) => {
      const base = pick(r, texts);
      let text: string;
      let kind: string;
      if (r() < 0.5) {
        const lines = base.text.split('\n');
        lines.splice(int(r, 0, lines.length), r() < 0.3 ? 1 : 0, pick(r, TOKENS));
        text = lines.join('\n');
        kind = 'text:token';
      } else {
        const m = mutateBytes(new TextEncoder().encode(base.text), r);
        text = new TextDecoder().decode(m.value);
        kind = `bytes:${m.kind}`;
      }
      const dtype = r() < 0.7 ? base.dtype : pick(r, RAW_DTYPES);
      const shape = r() < 0.5 ? base.dims : r() < 0.5 ? undefined : [pick(r, [0, 1, 6, 1e12, 2 ** 53])];
      return {
        size: text.length,
        kind,
        run: () => {
          if (i % 4 !== 0) {
            parseTextTensor(text, { dtype, shape }, 'fuzz.txt');
            return;
          }
          writeFileSync(fileOf(i), text);
          readTensorFile(fileOf(i), { dtype, shape });
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(3000);
    expect(report.accepted).toBeGreaterThan(0);
  });
});

describe('fuzzing run manifests', () => {
  it('loads a mutated manifest and the tensor files it lists, or says what is wrong', async () => {
    const dir = path.join(work, 'run');
    const run = RunDir.create(dir, {
      model: { path: 'm.onnx', sha256: 'ab'.repeat(32) },
      inputs: [{ name: 'x', source: 'x.npy', sha256: 'cd'.repeat(32), shape: [2, 3], dtype: 'float32' }],
      taps: ['a', 'b'],
      fsync: false,
    });
    run.writeTensor('float', 'a', tensors[0], { name: 'n1', opType: 'Conv' });
    run.writeTensor('quant', 'a', tensors[0], { name: 'n1', opType: 'Conv' });
    run.writeTensor('float', 'b/../c', tensors[2], null);
    run.writeTensor('float', 'h', makeTensor('bfloat16', [2], new Uint16Array([1, 2])), null);
    run.complete();
    const good = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as unknown;
    const fileOf = (i: number) => path.join(dir, `case-${i}.json`);
    const report = await fuzz({ target: 'manifest', seed: 0x6d616e, cases: 2500 }, (r, i) => {
      const m = mutateJsonText(good, r);
      return {
        size: m.value.length,
        kind: m.kind,
        run: () => {
          writeFileSync(fileOf(i), m.value);
          const manifest = readManifest(fileOf(i));
          for (const entry of manifest.tensors) readRunTensor(dir, entry);
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(2500);
    expect(report.accepted).toBeGreaterThan(0);
  });
});

describe('fuzzing plans, profiles and calibration tables', () => {
  const model = readModel(path.join(repo, 'models', 'demo-generator.onnx'));
  const graph = graphOf(model);
  const conv = graph.nodes.find((n) => n.opType === 'Conv')?.name ?? '';

  it('parses a mutated plan file and resolves it against the demo graph, or says what is wrong', async () => {
    const good = { profile: 'generic-int8', overrides: { [conv]: 'int16', 'op:Conv': 'int8', 're:^dec': 'fp16', 'enc*': 'fp32' } };
    const fileOf = (i: number) => path.join(work, `plan-${i}.json`);
    const report = await fuzz({ target: 'plan', seed: 0x706c61, cases: 2500 }, (r, i) => {
      const m = mutateJsonText(good, r);
      return {
        size: m.value.length,
        kind: m.kind,
        run: () => {
          const plan = parsePlanText(m.value, fileOf(i));
          // Only built-in profiles: a plan may name any profile file, which is the profile fuzz's job.
          if (!builtinProfiles().includes(plan.profile)) return;
          resolvePlan(graph, loadProfile(plan.profile), plan.overrides);
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(2500);
    expect(report.accepted).toBeGreaterThan(0);
  });

  it('parses a mutated profile, or names the field at fault', async () => {
    const good = JSON.parse(readFileSync(path.join(repo, 'src', 'quant', 'profiles', 'int8-fp16.json'), 'utf8')) as unknown;
    const fileOf = (i: number) => path.join(work, `profile-${i}.json`);
    const report = await fuzz({ target: 'profile', seed: 0x70726f, cases: 2500 }, (r, i) => {
      const m = mutateJsonText(good, r);
      return {
        size: m.value.length,
        kind: m.kind,
        run: () => {
          if (i % 2 === 0) {
            writeFileSync(fileOf(i), m.value);
            resolvePlan(graph, loadProfile(fileOf(i)), []);
          } else {
            resolvePlan(graph, parseProfile(mutateJsonValue(good, r).value, 'fuzz-profile.json', 'fuzz'), []);
          }
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(2500);
  });

  it('reads a mutated calibration table, or names the field at fault', async () => {
    const good = {
      schemaVersion: 1,
      id: '0123456789abcdef',
      method: 'percentile',
      percentile: 99.99,
      profile: 'generic-int8',
      modelSha256: 'ab'.repeat(32),
      inputs: [{ source: 'x.npy', sha256: 'cd'.repeat(32) }],
      samples: 1,
      createdAt: '2024-01-01T00:00:00.000Z',
      tensors: {
        conv1_out: { min: -1, max: 2, int8: { min: -1, max: 1.9 }, int16: { min: -1, max: 2 } },
        '123': { min: 0, max: 0, int8: { min: 0, max: 0 }, int16: { min: 0, max: 0 } },
      },
    };
    const fileOf = (i: number) => path.join(work, `calibration-${i}.json`);
    const report = await fuzz({ target: 'calibration', seed: 0x63616c, cases: 2500 }, (r, i) => {
      const m = mutateJsonText(good, r);
      return {
        size: m.value.length,
        kind: m.kind,
        run: () => {
          writeFileSync(fileOf(i), m.value);
          const table = readCalibrationTable(fileOf(i));
          for (const name of ['conv1_out', '123', 'constructor', '__proto__', 'toString', 'missing']) {
            const range = rangeFromTable(table, name, pick(r, [8, 16] as const));
            if (range !== undefined && !(range.min <= range.max)) throw new Error(`range of '${name}' is not a range`);
          }
        },
      };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(2500);
  });
});
