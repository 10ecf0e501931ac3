import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { inferShapes } from '../src/analysis/shape-inference.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { graphOf, initializerTensor, modelInfo, parseModel, serializeModel, tensorFromProto, tensorToProto } from '../src/onnx/index.js';
import type { AttributeProto, GraphProto, Int64, ModelProto, NodeProto, TensorProto } from '../src/onnx/proto-types.js';
import { decodeModelProto, encodeModelProto } from '../src/onnx/schema.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { describeReport, fuzz, int, mutateBytes, mutateProtobuf, pick, wireFields, type Random, type WireField } from './helpers/fuzz.js';

/**
 * Seeded mutation fuzzing of the ONNX readers: whole models (parseModel, then everything
 * `inspect` does with a model: the graph view, model info, every initializer decoded, shape
 * inference, and re-serialization) and TensorProto `.pb` files. Three kinds of mutation: raw
 * bytes, protobuf wire format (lengths, wire types, field numbers), and semantic edits of the
 * decoded model (huge dims, wrong data types, cycles, hostile external data, deep subgraphs...).
 */

const repo = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'qs-fuzz-onnx-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// External data the semantic mutations point at: a small file inside the model's directory and a
// link that leads outside it.
const baseDir = path.join(work, 'models');
mkdirSync(baseDir);
writeFileSync(path.join(baseDir, 'present.bin'), new Uint8Array(64).fill(7));
writeFileSync(path.join(work, 'outside.bin'), new Uint8Array(64).fill(9));
symlinkSync(path.join(work, 'outside.bin'), path.join(baseDir, 'link.bin'));

const corpus: { name: string; bytes: Uint8Array; fields: WireField[] }[] = [
  path.join(repo, 'models', 'demo-generator.onnx'),
  ...readdirSync(path.join(repo, 'fixtures'))
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => path.join(repo, 'fixtures', f)),
].map((file) => {
  const bytes = new Uint8Array(readFileSync(file));
  return { name: path.basename(file), bytes, fields: wireFields(bytes) };
});

/** Everything `quantscope inspect` does with a model file, plus decoding every initializer and writing it back. */
function readLikeInspect(bytes: Uint8Array): void {
  const model = parseModel(bytes, { source: 'fuzz.onnx', baseDir });
  const graph = graphOf(model);
  modelInfo(model);
  for (const name of graph.initializers.keys()) initializerTensor(model, name);
  inferShapes(graph, undefined, (name) => initializerTensor(model, name));
  serializeModel(model);
}

// ---- Semantic mutations of a decoded model --------------------------------------------------

type Mutable<T> = T extends Uint8Array
  ? T
  : T extends readonly (infer E)[]
    ? Mutable<E>[]
    : T extends object
      ? { -readonly [K in keyof T]: Mutable<T[K]> }
      : T;
type MModel = Mutable<ModelProto>;
type MGraph = Mutable<GraphProto>;
type MNode = Mutable<NodeProto>;
type MTensor = Mutable<TensorProto>;

const HUGE_INT64: readonly Int64[] = [
  1e12,
  2 ** 40,
  2 ** 53 - 1,
  -1,
  -(2 ** 40),
  { low: -1, high: 0x7fffffff, unsigned: false }, // 2^63 - 1
  { low: 0, high: -0x80000000, unsigned: false }, // -2^63
  { low: -1, high: -1, unsigned: true }, // 2^64 - 1
];

const HOSTILE_STRINGS = [
  '',
  '../../etc/passwd',
  '/etc/passwd',
  'a\\b',
  'nul\u0000name',
  '\u001b[2J\u001b[31mred',
  '\u001b]0;title\u0007',
  'L'.repeat(10_000),
];

function initializers(g: MGraph): MTensor[] {
  return (g.initializer ?? []) as MTensor[];
}

function nodes(g: MGraph): MNode[] {
  return (g.node ?? []) as MNode[];
}

function constantNode(name: string, output: string, tensor: Tensor): MNode {
  return {
    name,
    op_type: 'Constant',
    input: [],
    output: [output],
    attribute: [{ name: 'value', type: 4, t: encodeTensor(tensor, '') as MTensor }],
  } as MNode;
}

const i64 = (values: readonly number[]) => makeTensor('int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));

const SEMANTIC: Readonly<Record<string, (m: MModel, g: MGraph, r: Random) => void>> = {
  'init-dims': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (!t) return;
    // Sometimes thousands of dims: messages must stay one short sentence.
    t.dims = r() < 0.1 ? Array(20_000).fill(1) : Array.from({ length: int(r, 0, 4) }, () => pick(r, [...HUGE_INT64, 0, 1, 3]));
  },
  'init-dtype': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (t) t.data_type = pick(r, [0, 2, 7, 8, 9, 10, 13, 14, 16, 17, 21, 22, 23, 24, 99, -1]);
  },
  'init-raw-cut': (_m, g, r) => {
    const t = pick(
      r,
      initializers(g).filter((x) => x.raw_data && x.raw_data.length > 0),
    );
    if (t?.raw_data) t.raw_data = t.raw_data.slice(0, int(r, 0, t.raw_data.length - 1));
  },
  'init-typed-field': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (!t) return;
    delete t.raw_data;
    const n = int(r, 0, 20);
    const field = pick(r, ['float_data', 'int32_data', 'int64_data', 'double_data', 'uint64_data', 'string_data'] as const);
    if (field === 'string_data') t.string_data = Array.from({ length: n }, () => new Uint8Array([0xff, 0xfe, 0x1b]));
    else if (field === 'int64_data' || field === 'uint64_data') t[field] = Array.from({ length: n }, () => pick(r, HUGE_INT64));
    else t[field] = Array.from({ length: n }, () => pick(r, [0, 1, -1, 1e300, Number.NaN, 2 ** 31]));
  },
  'init-external': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (!t) return;
    if (r() < 0.7) delete t.raw_data;
    t.data_location = pick(r, [1, 1, 0, 7]);
    const entries = [
      {
        key: 'location',
        value: pick(r, [
          'present.bin',
          'link.bin',
          'missing.bin',
          '../outside.bin',
          '/etc/hostname',
          'C:\\Windows\\x',
          '',
          '.',
          'sub/../../outside.bin',
          'nul\u0000.bin',
        ]),
      },
    ];
    if (r() < 0.5) entries.push({ key: 'offset', value: pick(r, ['0', '8', '64', '65', '-1', '1e3', '99999999999999999999', 'x']) });
    if (r() < 0.5) entries.push({ key: 'length', value: pick(r, ['0', '4', '56', '64', '1000000000000', '18446744073709551615', '']) });
    t.external_data = entries;
  },
  'init-segment': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (t) t.segment = { begin: 0, end: pick(r, HUGE_INT64) };
  },
  'init-duplicate': (_m, g, r) => {
    const t = pick(r, initializers(g));
    if (t) g.initializer = [...initializers(g), { ...t, dims: [int(r, 0, 3)], raw_data: new Uint8Array(int(r, 0, 12)) }];
  },
  'sparse-init': (_m, g, r) => {
    const nnz = int(r, 0, 3);
    const dims = pick(r, [[2 ** 31 - 2], [2 ** 20, 2 ** 20], [4, 4], [1e12], [3]]);
    const values = encodeTensor(makeTensor('float32', [nnz], new Float32Array(nnz).fill(1)), 'sparse_w') as MTensor;
    const indices = encodeTensor(i64(Array.from({ length: nnz }, () => pick(r, [0, 1, 15, 16, -1, 2 ** 40]))), '') as MTensor;
    (g as { sparse_initializer?: unknown[] }).sparse_initializer = [{ values, indices, dims }];
  },
  'node-missing-input': (_m, g, r) => {
    const n = pick(
      r,
      nodes(g).filter((x) => (x.input ?? []).length > 0),
    );
    if (n?.input) n.input[int(r, 0, n.input.length - 1)] = pick(r, ['no_such_tensor', ...HOSTILE_STRINGS]);
  },
  'node-cycle': (_m, g, r) => {
    const list = nodes(g);
    if (list.length === 0) return;
    const i = int(r, 0, list.length - 1);
    const j = int(r, i, list.length - 1);
    const out = list[j].output?.[0];
    if (out !== undefined && list[i].input) list[i].input = [out, ...list[i].input.slice(1)];
  },
  'node-duplicate-output': (_m, g, r) => {
    const list = nodes(g);
    if (list.length < 2) return;
    const a = pick(r, list);
    const b = pick(r, list);
    if (a.output && b.output?.[0] !== undefined) a.output[0] = b.output[0];
  },
  'node-op-type': (_m, g, r) => {
    const n = pick(r, nodes(g));
    if (n)
      n.op_type = pick(r, [
        '',
        'Conv',
        'Reshape',
        'Resize',
        'ConstantOfShape',
        'Range',
        'Tile',
        'Expand',
        'Concat',
        'Gather',
        'Slice',
        'Split',
        'Loop',
        'If',
        'Scan',
        'NoSuchOp',
        ...HOSTILE_STRINGS,
      ]);
  },
  'node-attribute': (_m, g, r) => {
    const n = pick(r, nodes(g));
    if (!n) return;
    const name = pick(r, [
      ...(n.attribute ?? []).map((a) => a.name ?? ''),
      'kernel_shape',
      'pads',
      'strides',
      'axis',
      'axes',
      'perm',
      'value',
      'mode',
      'then_branch',
    ]);
    const a: Mutable<AttributeProto> = pick<() => Mutable<AttributeProto>>(r, [
      () => ({ name, type: 1, f: Number.NaN }),
      () => ({ name, type: 2, i: pick(r, HUGE_INT64) }),
      () => ({ name, type: 7, ints: Array.from({ length: int(r, 0, 10_000) }, () => pick(r, HUGE_INT64)) }),
      () => ({ name, type: 6, floats: [Number.POSITIVE_INFINITY, -0] }),
      () => ({ name, type: 3, s: new Uint8Array([0xff, 0x00, 0x1b]) }),
      () => ({ name, type: 4, t: { dims: [pick(r, HUGE_INT64)], data_type: 1, raw_data: new Uint8Array(4) } as MTensor }),
      () => ({ name, type: 5, g: { node: [{ op_type: 'Relu', input: ['no_such'], output: ['o'] }] } as MGraph }),
      () => ({ name, type: 99 }),
      () => ({ name, ref_attr_name: 'x' }),
      () => ({ name }),
    ])();
    n.attribute = [...(n.attribute ?? []).filter((x) => x.name !== name), a];
  },
  'fold-bomb': (_m, g, r) => {
    // A Constant shape feeding an op that materializes it: inference must not build the tensor.
    const shape = Array.from({ length: int(r, 1, 4) }, () => pick(r, [1e6, 2 ** 31, 1e12, 3, -1, 0]));
    const op = pick(r, ['ConstantOfShape', 'Expand', 'Tile', 'Reshape', 'Range', 'Resize', 'Slice', 'Pad']);
    const src = pick(r, [...(g.input ?? []).map((v) => v.name ?? ''), ...nodes(g).flatMap((n) => n.output ?? [])]) ?? '';
    const inputs = op === 'ConstantOfShape' ? ['fz_shape'] : op === 'Range' ? ['fz_start', 'fz_shape', 'fz_step'] : [src, 'fz_shape'];
    g.node = [
      ...nodes(g),
      constantNode('fz_c', 'fz_shape', op === 'Range' ? i64([shape[0]]) : i64(shape)),
      constantNode('fz_s', 'fz_start', i64([0])),
      constantNode('fz_t', 'fz_step', i64([pick(r, [1, 0, -1])])),
      { name: 'fz_op', op_type: op, input: inputs, output: ['fz_out'] },
    ];
    g.output = [...(g.output ?? []), { name: 'fz_out' }];
  },
  'deep-subgraph': (_m, g, r) => {
    // Nested If bodies. protobufjs stops at 100 message levels (3 per nesting), so deeper files
    // are a decode error; see the hand-made case below.
    const depth = pick(r, [2, 10, 30]);
    let body: MGraph = { node: [{ op_type: 'Identity', input: ['outer_ref'], output: ['o0'] }], output: [{ name: 'o0' }] };
    for (let d = 1; d < depth; d++) {
      body = {
        node: [{ op_type: 'If', input: ['cond'], output: [`o${d}`], attribute: [{ name: 'then_branch', type: 5, g: body }] }],
        output: [{ name: `o${d}` }],
      };
    }
    const cond = makeTensor('bool', [], new Uint8Array([1]));
    g.node = [
      constantNode('fz_cond', 'cond', cond),
      constantNode('fz_ref', 'outer_ref', i64([1])),
      ...nodes(g),
      {
        name: 'fz_if',
        op_type: 'If',
        input: ['cond'],
        output: ['fz_deep'],
        attribute: [
          { name: 'then_branch', type: 5, g: body },
          { name: 'else_branch', type: 5, g: body },
        ],
      },
    ];
  },
  'graph-input-type': (_m, g, r) => {
    const v = pick(r, (g.input ?? []) as Mutable<NonNullable<GraphProto['input']>[number]>[]);
    if (!v) return;
    v.type = pick(r, [
      { tensor_type: { elem_type: pick(r, [0, 8, 16, 22, 99, -5]) } },
      {
        tensor_type: {
          elem_type: 1,
          shape: {
            dim: Array.from({ length: int(r, 0, 6) }, () =>
              r() < 0.5 ? { dim_value: pick(r, HUGE_INT64) } : { dim_param: pick(r, HOSTILE_STRINGS) },
            ),
          },
        },
      },
      { sequence_type: { elem_type: { tensor_type: { elem_type: 1 } } } },
      {},
    ]);
  },
  opset: (m, _g, r) => {
    m.opset_import = pick(r, [
      [],
      [{ domain: '', version: pick(r, HUGE_INT64) }],
      [
        { domain: 'ai.onnx', version: 1 },
        { domain: '', version: 99 },
      ],
      [{ domain: '\u001b[31m', version: 1 }],
    ]);
  },
  'ir-version': (m, _g, r) => {
    m.ir_version = pick(r, [0, 1, 99, ...HUGE_INT64]);
  },
  'output-missing': (_m, g, r) => {
    g.output = [...(g.output ?? []), { name: pick(r, ['no_such_output', ...HOSTILE_STRINGS]) }];
  },
  'hostile-renames': (_m, g, r) => {
    const n = pick(r, nodes(g));
    if (!n) return;
    n.name = pick(r, HOSTILE_STRINGS);
    const out = n.output?.[0];
    if (out === undefined || !n.output) return;
    const to = pick(r, HOSTILE_STRINGS);
    n.output[0] = to;
    for (const other of nodes(g)) other.input = (other.input ?? []).map((i) => (i === out ? to : i));
    g.output = (g.output ?? []).map((o) => (o.name === out ? { ...o, name: to } : o));
  },
  'no-graph': (m) => {
    delete m.graph;
  },
};

function semanticCase(source: Uint8Array, r: Random): { bytes: Uint8Array; kind: string; detail: string } {
  const model = decodeModelProto(source) as MModel;
  const graph = (model.graph ?? {}) as MGraph;
  const kind = pick(r, Object.keys(SEMANTIC));
  const steps = r() < 0.2 ? 2 : 1;
  const kinds = [kind];
  SEMANTIC[kind](model, graph, r);
  for (let s = 1; s < steps; s++) {
    const k = pick(r, Object.keys(SEMANTIC));
    kinds.push(k);
    SEMANTIC[k](model, graph, r);
  }
  return {
    bytes: encodeModelProto(model as ModelProto),
    kind: kinds.length > 1 ? 'model:two edits' : `model:${kind}`,
    detail: `model:${kinds.join('+')}`,
  };
}

// ---- Tensor .pb corpus ---------------------------------------------------------------------

const tensorCorpus: Uint8Array[] = [
  tensorToProto(makeTensor('float32', [2, 3], new Float32Array([0, 1.5, -2, Number.NaN, Infinity, -0])), 'f32'),
  tensorToProto(makeTensor('int64', [3], new BigInt64Array([-1n, 0n, 1n << 62n])), 'i64'),
  tensorToProto(makeTensor('float16', [2, 2], new Uint16Array([0x3c00, 0x7c00, 0x7e00, 0x0001])), 'f16'),
  tensorToProto(makeTensor('bool', [4], new Uint8Array([0, 1, 1, 0])), 'bool'),
  tensorToProto(makeTensor('string', [2], ['a', 'héllo']), 'str'),
  tensorToProto(makeTensor('int4', [5], new Int8Array([-8, -1, 0, 1, 7])), 'i4'),
  tensorToProto(makeTensor('complex64', [2], new Float32Array([1, 2, 3, 4])), 'c64'),
  tensorToProto(makeTensor('uint8', [0, 3], new Uint8Array(0)), 'empty'),
  ...corpus.slice(0, 4).flatMap(({ bytes }) => {
    const proto = decodeModelProto(bytes);
    return (proto.graph?.initializer ?? []).slice(0, 3).map((t) => {
      const model = parseModel(bytes, { source: 'corpus.onnx' });
      return tensorToProto(initializerTensor(model, t.name ?? ''), t.name ?? '');
    });
  }),
];

describe('fuzzing the ONNX model reader', () => {
  it('survives byte and wire-format mutations of the seed models', async () => {
    const report = await fuzz({ target: 'onnx-bytes', seed: 0x1337, cases: 4000 }, (r) => {
      const seed = pick(r, corpus);
      const m = r() < 0.5 ? mutateBytes(seed.bytes, r) : mutateProtobuf(seed.bytes, r, seed.fields);
      return { size: m.value.length, kind: m.kind, run: () => readLikeInspect(m.value) };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(4000);
    expect(report.rejected).toBeGreaterThan(report.cases / 4);
  });

  it('survives semantic mutations: huge dims, wrong types, cycles, hostile external data, deep subgraphs', async () => {
    const small = corpus.filter((c) => c.bytes.length < 100_000);
    const report = await fuzz({ target: 'onnx-model', seed: 0x2024, cases: 3000 }, (r) => {
      const m = semanticCase(pick(r, small).bytes, r);
      return { size: m.bytes.length, kind: m.kind, detail: m.detail, run: () => readLikeInspect(m.bytes) };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(3000);
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.rejected).toBeGreaterThan(0);
  });
});

describe('fuzzing the TensorProto (.pb) reader', () => {
  it('survives byte and wire-format mutations of tensors of every storage kind', async () => {
    const fields = tensorCorpus.map((b) => wireFields(b));
    const report = await fuzz({ target: 'tensor-pb', seed: 0xb0b, cases: 3000 }, (r) => {
      const k = int(r, 0, tensorCorpus.length - 1);
      const m = r() < 0.5 ? mutateBytes(tensorCorpus[k], r) : mutateProtobuf(tensorCorpus[k], r, fields[k]);
      return { size: m.value.length, kind: m.kind, run: () => void tensorFromProto(m.value, 'fuzz.pb', { baseDir }) };
    });
    console.log(describeReport(report));
    expect(report.cases).toBe(3000);
  });
});
