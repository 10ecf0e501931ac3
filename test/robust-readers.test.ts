import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { createModel, graphOf, initializerTensor, parseModel, serializeModel, tensorFromProto } from '../src/onnx/index.js';
import type { ModelProto, TensorProto } from '../src/onnx/proto-types.js';
import { decodeModelProto, encodeModelProto, encodeTensorProto } from '../src/onnx/schema.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { readCalibrationTable } from '../src/store/calibration-file.js';
import { rangeFromTable } from '../src/quant/calibration-table.js';
import { parsePlanText } from '../src/store/plan-file.js';
import { loadProfile } from '../src/store/profile-file.js';
import { encodeNpyHeader, parseNpy } from '../src/store/npy.js';
import { readTensorFile } from '../src/store/tensor-file.js';
import { sentenceProblem, varint } from './helpers/fuzz.js';

/**
 * The hostile inputs the fuzzers look for, one row each, with the exact outcome: claims of huge
 * sizes are refused before anything is allocated, data outside the model's directory is never read,
 * and messages show names and file text escaped.
 */

const work = mkdtempSync(path.join(tmpdir(), 'qs-robust-readers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The UserError `f` throws; fails when it throws anything else or nothing, or when the message is not a clean sentence. */
function userError(f: () => unknown): string {
  let thrown: unknown;
  try {
    f();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(UserError);
  const message = (thrown as UserError).message;
  expect(sentenceProblem(message), message).toBeUndefined();
  return message;
}

/** ArrayBuffer bytes allocated while `f` runs (garbage included). */
function allocatedBy(f: () => unknown): number {
  const before = process.memoryUsage().arrayBuffers;
  try {
    f();
  } catch {
    // The caller checks the error itself; only the allocation is measured here.
  }
  return process.memoryUsage().arrayBuffers - before;
}

/** A file of `size` bytes that starts with `head` and takes no disk space (a sparse file). */
function sparseFile(name: string, head: Uint8Array, size: number): string {
  const file = path.join(work, name);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return file;
}

const f32 = (dims: number[], values: number[]) => makeTensor('float32', dims, new Float32Array(values));

/** x -> Relu -> y with one initializer `w` (added to x), as decoded proto ready to edit. */
function smallModel(): ModelProto & { graph: NonNullable<ModelProto['graph']> } {
  const model = createModel({
    name: 'small',
    opsets: { '': 13 },
    inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2] }],
    nodes: [
      { name: 'add', opType: 'Add', inputs: ['x', 'w'], outputs: ['s'] },
      { name: 'relu', opType: 'Relu', inputs: ['s'], outputs: ['y'] },
    ],
    initializers: [{ name: 'w', tensor: f32([2], [1, 2]) }],
  });
  return decodeModelProto(serializeModel(model)) as ModelProto & { graph: NonNullable<ModelProto['graph']> };
}

const withInitializer = (m: ModelProto, t: TensorProto): Uint8Array => encodeModelProto({ ...m, graph: { ...m.graph, initializer: [t] } });

describe('size claims are refused before anything is allocated', () => {
  it('a .npy header claiming 10^12 elements', () => {
    const bytes = new Uint8Array([...encodeNpyHeader('float32', [1e6, 1e6]), 1, 2, 3, 4]);
    let message = '';
    expect(
      allocatedBy(() => {
        message = userError(() => parseNpy(bytes, 'claim.npy'));
      }),
    ).toBeLessThan(1 << 20);
    expect(message).toMatch(/'claim\.npy' is truncated or corrupt: its shape \(1000000, 1000000\) of float32 needs 4000000000000 bytes/);
  });

  it('a .npy header with thousands of dimensions that do not match the data gets a short message', () => {
    const bytes = new Uint8Array([...encodeNpyHeader('float32', Array(30_000).fill(1)), 1, 2]);
    const message = userError(() => parseNpy(bytes, 'rank.npy'));
    expect(message).toMatch(
      /^File 'rank\.npy' is truncated or corrupt: its shape \(1, 1, 1, .*…\(90000 chars\) of float32 needs 4 bytes of data but the file holds 2\.$/,
    );
  });

  it("a .npy or .bin file larger than this machine's memory (sparse on disk)", () => {
    const size = Math.ceil((totalmem() + (1 << 20)) / 4096) * 4096;
    const header = encodeNpyHeader('float32', [(size - 128) / 4]);
    const npy = sparseFile('huge.npy', header, header.length + size - 128);
    const bin = sparseFile('huge.bin', new Uint8Array(0), size);
    expect(
      allocatedBy(() => expect(userError(() => readTensorFile(npy))).toMatch(/more than this machine's \d+ bytes of memory/)),
    ).toBeLessThan(1 << 20);
    expect(
      allocatedBy(() => expect(userError(() => readTensorFile(bin))).toMatch(/more than this machine's \d+ bytes of memory/)),
    ).toBeLessThan(1 << 20);
  });

  it('a .bin shape that does not match the file size', () => {
    const file = path.join(work, 'small.bin');
    writeFileSync(file, new Uint8Array(16));
    expect(userError(() => readTensorFile(file, { shape: [1e6, 1e6, 1e6] }))).toMatch(
      /holds 16 bytes but a float32 tensor of shape \[1000000,1000000,1000000\] needs 4000000000000000000 bytes\./,
    );
  });

  it('a TensorProto claiming 10^18 elements over 4 bytes of raw data', () => {
    const bytes = encodeTensorProto({ name: 't', data_type: 1, dims: [1e6, 1e6, 1e6], raw_data: new Uint8Array(4) });
    let message = '';
    expect(
      allocatedBy(() => {
        message = userError(() => tensorFromProto(bytes, 'claim.pb'));
      }),
    ).toBeLessThan(1 << 20);
    expect(message).toMatch(/needs 4000000000000000000 bytes of raw data but holds 4/);
  });

  it('a sparse initializer that would be 8 GB dense', () => {
    const m = smallModel();
    const values = encodeTensor(f32([1], [5]), 'w');
    const indices = encodeTensor(makeTensor('int64', [1], new BigInt64Array([3n])), '');
    const bytes = encodeModelProto({
      ...m,
      graph: { ...m.graph, initializer: [], sparse_initializer: [{ values, indices, dims: [2 ** 31 - 2] }] },
    });
    const model = parseModel(bytes, { source: 'sparse.onnx' });
    let message = '';
    expect(
      allocatedBy(() => {
        message = userError(() => initializerTensor(model, 'w'));
      }),
    ).toBeLessThan(1 << 20);
    expect(message).toMatch(/Sparse tensor 'w' in 'sparse\.onnx' of shape \[2147483646\] would take 8589934584 bytes when made dense/);
  });

  it('a model nested deeper than protobuf decoding allows', () => {
    // GraphProto.node (1) > NodeProto.attribute (5) > AttributeProto.g (6) > GraphProto.node ...: 150 levels.
    const field = (n: number, body: number[]) => [(n << 3) | 2, ...varint(BigInt(body.length)), ...body];
    let graph: number[] = [];
    for (let i = 0; i < 50; i++) graph = field(1, field(5, field(6, graph)));
    const bytes = new Uint8Array([0x08, 7, ...field(7, graph)]);
    expect(userError(() => parseModel(bytes, { source: 'deep.onnx' }))).toMatch(
      /^File 'deep\.onnx' is not an ONNX model \(.*depth exceeded\)\.$/,
    );
  });
});

describe('external data stays inside the model directory', () => {
  const dir = path.join(work, 'model-dir');
  mkdirSync(dir);
  writeFileSync(path.join(work, 'secret.bin'), new Uint8Array(8).fill(1));
  symlinkSync(path.join(work, 'secret.bin'), path.join(dir, 'link.bin'));
  const m = smallModel();
  const external = (location: string): TensorProto => ({
    name: 'w',
    data_type: 1,
    dims: [2],
    data_location: 1,
    external_data: [{ key: 'location', value: location }],
  });

  it.each([
    ['../secret.bin', /has external data at '\.\.\/secret\.bin', which is outside the model's directory/],
    ['/etc/hostname', /has external data at the absolute path '\/etc\/hostname'/],
    ['link.bin', /has external data at 'link\.bin', which links outside the model's directory/],
    ['sub/../../secret.bin', /which is outside the model's directory/],
  ])('location %s is refused', (location, expected) => {
    const model = parseModel(withInitializer(m, external(location)), { source: path.join(dir, 'm.onnx'), baseDir: dir });
    expect(userError(() => initializerTensor(model, 'w'))).toMatch(expected);
  });
});

describe('messages show names and file text escaped', () => {
  it('a node reading a missing tensor with an escape sequence and a 10,000-character name', () => {
    const m = smallModel();
    const nodes = m.graph.node ?? [];
    const bytes = encodeModelProto({
      ...m,
      graph: { ...m.graph, node: [{ ...nodes[0], input: ['\u001b]0;pwned\u0007', 'w'], name: 'L'.repeat(10_000) }, nodes[1]] },
    });
    const message = userError(() => graphOf(parseModel(bytes, { source: 'bad.onnx' })));
    expect(message).toContain("reads tensor '\\x1b]0;pwned\\x07'");
    expect(message).toContain('…(10000 chars)');
  });

  it('a plan file whose JSON error quotes control characters', () => {
    const message = userError(() => parsePlanText('{"profile": \u0000\u001b[2J}', path.join(work, 'p.json')));
    expect(message).toMatch(/is not valid JSON \(.*\\x00\\x1b\[2J/);
  });

  it('a profile and a calibration table whose JSON is broken, the same way', () => {
    const profile = path.join(work, 'bad-profile.json');
    writeFileSync(profile, '{"name": \u001b[31m');
    expect(userError(() => loadProfile(profile))).toMatch(/is not valid JSON \(.*\\x1b\[31m/);
    const table = path.join(work, '\u001b[31mtable.json');
    writeFileSync(table, '[\u0007]');
    expect(userError(() => readCalibrationTable(table))).toMatch(/^Calibration file '.*\\x1b\[31mtable\.json' is not valid JSON \(.*\\x07/);
  });

  it('a calibration tensor named after an Object property is found only when the file has it', () => {
    const file = path.join(work, 'cal.json');
    const range = { min: -1, max: 1 };
    writeFileSync(
      file,
      JSON.stringify({
        schemaVersion: 1,
        id: 'x',
        method: 'minmax',
        profile: 'generic-int8',
        modelSha256: 'ab',
        tensors: { constructor: { min: -1, max: 1, int8: range, int16: range } },
      }),
    );
    const table = readCalibrationTable(file);
    expect(rangeFromTable(table, 'constructor', 8)).toEqual(range);
    for (const name of ['toString', '__proto__', 'hasOwnProperty', 'valueOf']) expect(rangeFromTable(table, name, 8)).toBeUndefined();
  });

  it('a manifest shape of thousands of dims is cut in the message', () => {
    const file = path.join(work, 'flat.npy');
    writeFileSync(file, new Uint8Array([...encodeNpyHeader('float32', [1]), 0, 0, 0, 0]));
    const message = userError(() => readTensorFile(file, { shape: Array(5000).fill(2) }));
    expect(message.length).toBeLessThan(1000);
  });
});
