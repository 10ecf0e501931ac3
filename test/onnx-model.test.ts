import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { readModel } from '../src/store/model-file.js';
import {
  assignedNodeNames,
  createModel,
  editModel,
  graphOf,
  initializerTensor,
  modelInfo,
  modelSha256,
  parseModel,
  serializeModel,
  valueKind,
  writeModel,
  type ModelSpec,
  type OnnxModel,
} from '../src/onnx/index.js';
import type { GraphProto, ModelProto, NodeProto } from '../src/onnx/proto-types.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/schema.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { graphDiff } from './helpers/graph-diff.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const UDNIE = path.resolve(repoRoot, '../shared/models/udnie.onnx');
const tmp = mkdtempSync(path.join(tmpdir(), 'quantscope-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const f32 = (dims: number[], values: number[]) => makeTensor('float32', dims, new Float32Array(values));

/** x[1,2] -> Add(w) -> Relu -> y, plus a Constant with every simple attribute kind on a side branch. */
const spec: ModelSpec = {
  name: 'tiny',
  opsets: { '': 13 },
  inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2] }],
  nodes: [
    { name: 'add', opType: 'Add', inputs: ['x', 'w'], outputs: ['s'] },
    { name: 'relu', opType: 'Relu', inputs: ['s'], outputs: ['y'] },
    {
      name: 'k',
      opType: 'Constant',
      inputs: [],
      outputs: ['c'],
      attributes: { value: { kind: 'tensor', value: f32([2], [7, 8]) } },
    },
    {
      name: 'custom',
      opType: 'Custom',
      domain: 'com.example',
      inputs: ['c'],
      outputs: ['d'],
      attributes: {
        f: { kind: 'float', value: 0.5 },
        i: { kind: 'int', value: -3 },
        s: { kind: 'string', value: 'héllo' },
        fs: { kind: 'floats', value: [1, 2.5] },
        is: { kind: 'ints', value: [1, 2 ** 40] },
        ss: { kind: 'strings', value: ['a', 'b'] },
      },
    },
  ],
  initializers: [{ name: 'w', tensor: f32([2], [1, -1]) }],
  valueInfo: [{ name: 's', dtype: 'float32', shape: ['N', 2] }],
};

function userError(f: () => unknown): UserError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

/** Node names of the main graph in file order, straight from the bytes. */
function fileOrder(model: OnnxModel): string[] {
  return (decodeModelProto(serializeModel(model)).graph?.node ?? []).map((n) => n.name ?? '');
}

function modelBytes(graph: GraphProto, extra: Partial<ModelProto> = {}): Uint8Array {
  return encodeModelProto({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], producer_name: 'test', graph, ...extra });
}

describe('createModel, serialize, parse', () => {
  it('round-trips the graph view', () => {
    const model = createModel(spec);
    const again = parseModel(serializeModel(model), { source: 'tiny.onnx' });
    expect(graphDiff(graphOf(model), graphOf(again))).toEqual([]);
    const g = graphOf(again);
    expect(g.nodes.map((n) => n.name)).toEqual(['add', 'relu', 'k', 'custom']);
    expect(g.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['N', 2] }]);
    expect(g.nodes[3].domain).toBe('com.example');
    expect(Object.fromEntries(g.nodes[3].attributes)).toEqual(Object.fromEntries(Object.entries(spec.nodes[3].attributes ?? {})));
    expect(initializerTensor(again, 'w').data).toEqual(new Float32Array([1, -1]));
    expect(modelInfo(again)).toEqual({ irVersion: 7, producer: 'quantscope', opsets: new Map([['', 13]]), source: 'tiny.onnx' });
  });

  it('is deterministic', () => {
    expect(Buffer.from(serializeModel(createModel(spec))).equals(Buffer.from(serializeModel(createModel(spec))))).toBe(true);
  });

  it('reports a node reading a tensor nobody produces', () => {
    const bad = { ...spec, nodes: [...spec.nodes, { name: 'z', opType: 'Relu', inputs: ['nope'], outputs: ['q'] }] };
    expect(userError(() => createModel(bad)).message).toMatch(/'nope'/);
  });

  it('keeps int64 attributes beyond 2^53 exactly in the proto', () => {
    const bytes = modelBytes({
      node: [
        {
          name: 'sl',
          op_type: 'Slice',
          input: ['x'],
          output: ['y'],
          attribute: [{ name: 'ends', type: 7, ints: [{ low: -1, high: 0x7fffffff, unsigned: false }] }],
        },
      ],
      input: [{ name: 'x' }],
      output: [{ name: 'y' }],
    });
    const model = parseModel(bytes);
    expect(graphOf(model).nodes[0].attributes.get('ends')).toEqual({ kind: 'ints', value: [2 ** 63] });
    expect(Buffer.from(serializeModel(model)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('preservation', () => {
  it('keeps metadata, docs, functions, training info, annotations, subgraphs and sparse initializers byte for byte', () => {
    const thenBranch: GraphProto = {
      name: 'then',
      node: [{ op_type: 'Identity', input: ['outer'], output: ['t'] }],
      output: [{ name: 't' }],
    };
    const sparseValues = { name: 'sp', data_type: 1, dims: [2], float_data: [5, 6] };
    const bytes = modelBytes(
      {
        name: 'g',
        doc_string: 'graph doc',
        node: [
          {
            name: 'if',
            op_type: 'If',
            input: ['cond'],
            output: ['r'],
            attribute: [
              { name: 'then_branch', type: 5, g: thenBranch },
              { name: 'else_branch', type: 5, g: thenBranch },
            ],
            doc_string: 'nd',
            metadata_props: [{ key: 'k', value: 'v' }],
          },
          { name: 'make_outer', op_type: 'Neg', input: ['x'], output: ['outer'] },
        ],
        input: [
          { name: 'cond', type: { tensor_type: { elem_type: 9, shape: { dim: [] } } } },
          { name: 'x', type: { sequence_type: { elem_type: { tensor_type: { elem_type: 1 } } } } },
        ],
        output: [{ name: 'r', type: { optional_type: { elem_type: { tensor_type: { elem_type: 1 } } } } }],
        sparse_initializer: [
          { values: sparseValues, indices: { name: 'sp_i', data_type: 7, dims: [2], int64_data: [1, 3] }, dims: [2, 2] },
        ],
        quantization_annotation: [{ tensor_name: 'r', quant_parameter_tensor_names: [{ key: 'SCALE_TENSOR', value: 's' }] }],
        metadata_props: [{ key: 'gk', value: 'gv' }],
      },
      {
        doc_string: 'model doc',
        domain: 'org.test',
        model_version: 3,
        metadata_props: [{ key: 'author', value: 'me' }],
        functions: [
          {
            name: 'F',
            domain: 'org.test',
            input: ['a'],
            output: ['b'],
            node: [{ op_type: 'Relu', input: ['a'], output: ['b'] }],
            opset_import: [{ domain: '', version: 17 }],
          },
        ],
        training_info: [{ algorithm: { name: 'train' }, update_binding: [{ key: 'w', value: 'w2' }] }],
      },
    );
    const model = parseModel(bytes);
    expect(Buffer.from(serializeModel(model)).equals(Buffer.from(bytes))).toBe(true);
    const g = graphOf(model);
    // The If reads 'outer' inside its branches, so the view orders its producer first.
    expect(g.nodes.map((n) => n.name)).toEqual(['make_outer', 'if']);
    expect(g.nodes[1].attributes.get('then_branch')).toEqual({ kind: 'graph' });
    expect(valueKind(model, 'x')).toBe('sequence');
    expect(valueKind(model, 'r')).toBe('optional');
    expect(valueKind(model, 'cond')).toBe('tensor');
    expect(g.initializers.get('sp')).toEqual({ name: 'sp', dtype: 'float32', dims: [2, 2] });
    expect(initializerTensor(model, 'sp').data).toEqual(new Float32Array([0, 5, 0, 6]));
    // An edit keeps all of it too.
    const edited = decodeModelProto(serializeModel(editModel(model, { addOutputs: ['outer'] })));
    expect(edited.functions?.[0].name).toBe('F');
    expect(edited.training_info?.[0].update_binding?.[0].value).toBe('w2');
    expect(edited.graph?.node?.[1].attribute?.[0].g?.name).toBe('then');
    expect(edited.graph?.node?.map((n) => n.name)).toEqual(['make_outer', 'if']);
  });
});

describe('node names', () => {
  it('names unnamed nodes <OpType>_<n> and makes duplicates unique, in the written model too', () => {
    const nodes: NodeProto[] = [
      { op_type: 'Relu', input: ['x'], output: ['a'] },
      { name: 'Relu_0', op_type: 'Neg', input: ['a'], output: ['b'] },
      { op_type: 'Relu', input: ['b'], output: ['c'] },
      { name: 'dup', op_type: 'Abs', input: ['c'], output: ['d'] },
      { name: 'dup', op_type: 'Abs', input: ['d'], output: ['e'] },
    ];
    const model = parseModel(modelBytes({ node: nodes, input: [{ name: 'x' }], output: [{ name: 'e' }] }));
    const names = ['Relu_1', 'Relu_0', 'Relu_2', 'dup', 'Abs_0'];
    expect(graphOf(model).nodes.map((n) => n.name)).toEqual(names);
    expect(fileOrder(model)).toEqual(names);
    // The names the file itself lacks, which tools matching the file's names cannot find (export).
    expect([...assignedNodeNames(model)].sort()).toEqual(['Abs_0', 'Relu_1', 'Relu_2']);
    expect(assignedNodeNames(createModel(spec)).size).toBe(0);
  });
});

describe('old IR: initializers listed as graph inputs', () => {
  it('lists only real inputs in the view', () => {
    const model = createModel({ ...spec, irVersion: 3 });
    expect(decodeModelProto(serializeModel(model)).graph?.input?.map((v) => v.name)).toEqual(['x', 'w']);
    const g = graphOf(model);
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect([...g.initializers.keys()]).toEqual(['w']);
    const edited = editModel(model, {
      setInitializers: [{ name: 'w2', tensor: f32([1], [3]) }],
      removeInitializers: ['w'],
      setNodeInputs: { add: ['x', 'w2'] },
    });
    expect(decodeModelProto(serializeModel(edited)).graph?.input?.map((v) => v.name)).toEqual(['x', 'w2']);
    expect(graphOf(edited).inputs.map((v) => v.name)).toEqual(['x']);
  });
});

describe('editModel', () => {
  const base = createModel(spec);
  const before = Buffer.from(serializeModel(base));

  it('adds outputs (idempotently, typed from value info), nodes and initializers, in topological order', () => {
    const edited = editModel(base, {
      addNodes: [
        // Listed consumer first: the written order must still put 'scale' before 'clip'.
        { name: 'clip', opType: 'Clip', inputs: ['m', 'lo'], outputs: ['z'] },
        { name: 'scale', opType: 'Mul', inputs: ['s', 'two'], outputs: ['m'] },
        { name: '', opType: 'Identity', inputs: ['z'], outputs: ['z2'] },
      ],
      setInitializers: [
        { name: 'two', tensor: f32([], [2]) },
        { name: 'lo', tensor: f32([], [0]) },
        { name: 'w', tensor: f32([2], [5, 5]) },
      ],
      addOutputs: ['s', 'z2', 's', 'y'],
      opsetImports: { 'com.example': 1 },
    });
    expect(fileOrder(edited)).toEqual(['add', 'relu', 'k', 'custom', 'scale', 'clip', 'Identity_0']);
    const g = graphOf(edited);
    expect(g.outputs).toEqual([
      { name: 'y', dtype: 'float32', shape: ['N', 2] },
      { name: 's', dtype: 'float32', shape: ['N', 2] },
      { name: 'z2' },
    ]);
    expect(initializerTensor(edited, 'w').data).toEqual(new Float32Array([5, 5]));
    expect(initializerTensor(edited, 'two').dims).toEqual([]);
    expect(modelInfo(edited).opsets).toEqual(
      new Map([
        ['', 13],
        ['com.example', 1],
      ]),
    );
    expect(Buffer.from(serializeModel(base)).equals(before)).toBe(true);
    expect(graphOf(base).nodes).toHaveLength(4);
  });

  it('removes nodes, rewires inputs, sets attributes and outputs', () => {
    const edited = editModel(base, {
      removeNodes: ['relu'],
      setNodeInputs: { custom: ['s'] },
      setNodeAttributes: { custom: { i: { kind: 'int', value: 9 }, extra: { kind: 'string', value: 'new' } } },
      setOutputs: ['d', 's'],
    });
    const g = graphOf(edited);
    expect(g.nodes.map((n) => n.name)).toEqual(['add', 'k', 'custom']);
    const custom = g.nodes[2];
    expect(custom.inputs).toEqual(['s']);
    expect(custom.attributes.get('i')).toEqual({ kind: 'int', value: 9 });
    expect(custom.attributes.get('extra')).toEqual({ kind: 'string', value: 'new' });
    expect(custom.attributes.get('f')).toEqual({ kind: 'float', value: 0.5 });
    expect(g.outputs.map((o) => o.name)).toEqual(['d', 's']);
    expect(Buffer.from(serializeModel(base)).equals(before)).toBe(true);
  });

  it('reports bad edits as UserErrors', () => {
    expect(userError(() => editModel(base, { removeNodes: ['reluu'] })).message).toMatch(/no node 'reluu'.*'relu'/);
    expect(
      userError(() => editModel(base, { addNodes: [{ name: 'add', opType: 'Relu', inputs: ['x'], outputs: ['q'] }] })).message,
    ).toMatch(/already exists/);
    expect(userError(() => editModel(base, { removeNodes: ['relu'] })).message).toMatch(/Graph output 'y'/);
    expect(userError(() => editModel(base, { addOutputs: ['missing'] })).message).toMatch(/'missing'/);
    expect(userError(() => editModel(base, { removeInitializers: ['ww'] })).message).toMatch(/no initializer 'ww'/);
    expect(userError(() => initializerTensor(base, 'W')).message).toMatch(/closest: 'w'/);
  });
});

describe('reading files', () => {
  const good = path.join(tmp, 'good.onnx');
  writeFileSync(good, serializeModel(createModel(spec)));

  it('gives a UserError naming a truncated, a text or a missing file', () => {
    const truncated = path.join(tmp, 'truncated.onnx');
    writeFileSync(truncated, readFileSync(good).subarray(0, 40));
    expect(userError(() => readModel(truncated)).message).toMatch(/^File '.*truncated\.onnx' is not an ONNX model \(.+\)\.$/);
    const text = path.join(tmp, 'notes.txt');
    writeFileSync(text, 'hello, this is not a model\n');
    expect(userError(() => readModel(text)).message).toMatch(/^File '.*notes\.txt' is not an ONNX model \(.+\)\.$/);
    expect(userError(() => readModel(path.join(tmp, 'absent.onnx'))).message).toMatch(/absent\.onnx' does not exist/);
    expect(userError(() => readModel(tmp)).message).toMatch(/is a directory/);
  });

  it('hashes the original bytes and writes atomically', () => {
    const model = readModel(good);
    expect(modelSha256(model)).toBe(createHash('sha256').update(readFileSync(good)).digest('hex'));
    const out = path.join(tmp, 'written.onnx');
    writeModel(model, out);
    expect(readFileSync(out).equals(readFileSync(good))).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(userError(() => writeModel(model, path.join(tmp, 'no-such-dir', 'x.onnx'))).message).toMatch(/Cannot write model/);
  });
});

describe('external data', () => {
  const weights = new Float32Array([1, 2, 3, 4, 5, 6]);
  const dir = path.join(tmp, 'ext');
  mkdirSync(path.join(dir, 'sub'), { recursive: true });
  // 16 bytes of padding, then the tensor: offset and length are honoured.
  writeFileSync(path.join(dir, 'sub', 'weights.bin'), Buffer.concat([Buffer.alloc(16, 0xee), Buffer.from(weights.buffer)]));

  function externalModel(location: string, file: string): string {
    const { raw_data: _raw, ...w } = encodeTensor(makeTensor('float32', [2, 3], weights), 'w');
    const bytes = modelBytes({
      node: [{ name: 'mm', op_type: 'Add', input: ['x', 'w'], output: ['y'] }],
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }, { dim_value: 3 }] } } } }],
      output: [{ name: 'y' }],
      initializer: [
        {
          ...w,
          data_location: 1,
          external_data: [
            { key: 'location', value: location },
            { key: 'offset', value: '16' },
            { key: 'length', value: '24' },
          ],
        },
      ],
    });
    const p = path.join(dir, file);
    writeFileSync(p, bytes);
    return p;
  }

  it('reads the tensor from the side file and inlines it when writing', () => {
    const model = readModel(externalModel('sub/weights.bin', 'model.onnx'));
    expect(initializerTensor(model, 'w').data).toEqual(weights);
    expect(graphOf(model).initializers.get('w')).toEqual({ name: 'w', dtype: 'float32', dims: [2, 3] });
    const copy = path.join(tmp, 'standalone.onnx');
    writeModel(model, copy);
    const written = decodeModelProto(readFileSync(copy)).graph?.initializer?.[0];
    expect(written?.external_data ?? []).toHaveLength(0);
    expect(written?.raw_data?.length).toBe(24);
    expect(initializerTensor(readModel(copy), 'w').data).toEqual(weights);
  });

  it.each([
    ['../outside.bin', /outside the model's directory/],
    ['sub/../../outside.bin', /outside the model's directory/],
    ['/etc/passwd', /absolute path/],
  ])('rejects the location %s', (location, message) => {
    const model = readModel(externalModel(location, 'evil.onnx'));
    expect(userError(() => initializerTensor(model, 'w')).message).toMatch(message);
    expect(userError(() => serializeModel(model)).message).toMatch(message);
  });

  it('rejects a length that disagrees with the dims', () => {
    const p = externalModel('sub/weights.bin', 'short.onnx');
    const proto = decodeModelProto(readFileSync(p));
    const init = proto.graph?.initializer?.[0];
    const bad = {
      ...proto,
      graph: {
        ...proto.graph,
        initializer: [
          {
            ...init,
            external_data: [
              { key: 'location', value: 'sub/weights.bin' },
              { key: 'length', value: '8' },
            ],
          },
        ],
      },
    };
    writeFileSync(p, encodeModelProto(bad));
    expect(userError(() => initializerTensor(readModel(p), 'w')).message).toMatch(/needs 24 bytes of external data but .* provides 8/);
  });
});

describe.skipIf(!existsSync(UDNIE))('udnie (../shared/models)', () => {
  it('has 59 nodes, one real input and 64 initializers', () => {
    const model = readModel(UDNIE);
    const g = graphOf(model);
    expect(g.nodes).toHaveLength(59);
    // The file declares the batch dimension as the symbol 'None'.
    expect(g.inputs).toEqual([{ name: 'inputImage', dtype: 'float32', shape: ['None', 3, 720, 720] }]);
    expect(g.initializers.size).toBe(64);
    expect(modelInfo(model).irVersion).toBe(3);
    expect(modelInfo(model).opsets.get('')).toBe(7);
    expect(modelSha256(model)).toBe('8a1576e5014f3a24461217b1829c27c1af61cba1bfa831c008b2b7958c1085cb');
    expect(Buffer.from(serializeModel(model)).equals(readFileSync(UDNIE))).toBe(true);
  });
});
if (!existsSync(UDNIE)) console.log(`onnx-model: udnie checks skipped, ${UDNIE} not found`);

describe('attributes of a damaged file', () => {
  it('a STRING attribute whose bytes came back as another wire type is a UserError, not a TypeError', async () => {
    const { attributeFromProto } = await import('../src/onnx/attributes.js');
    const { UserError } = await import('../src/core/errors.js');
    const { AttributeType } = await import('../src/onnx/schema.js');
    const damaged = { name: 'mode', type: AttributeType.STRING, s: 7 as unknown as Uint8Array };
    expect(() => attributeFromProto(damaged, { what: "attribute 'mode' of node 'n'" })).toThrow(UserError);
    expect(() => attributeFromProto(damaged, { what: "attribute 'mode' of node 'n'" })).toThrow(
      /attribute 'mode' of node 'n' is malformed/,
    );
    const list = { name: 'names', type: AttributeType.STRINGS, strings: [7 as unknown as Uint8Array] };
    expect(() => attributeFromProto(list, { what: "attribute 'names'" })).toThrow(UserError);
  });
});
