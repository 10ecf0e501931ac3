import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportFileFor, exportPlan } from '../src/app/export.js';
import { loadModel } from '../src/app/load-model.js';
import { UserError } from '../src/core/errors.js';
import type { Graph } from '../src/core/graph.js';
import { HAS_SHARED, runCliInProcess, SHARED, tempDir } from './helpers/cli.js';

/**
 * `quantscope export` end to end: each target on the co-promotion fixture with a plan holding
 * int16, a16w8, fp16 and fp32 overrides, the files parsed as their formats (JSON; YAML by PyYAML,
 * the parser RKNN-Toolkit2 itself uses; the trtexec script by `sh -n`; the onnxruntime script run
 * against a stand-in onnxruntime module that records what quantize_static receives), and every
 * name checked against the model.
 */

const MODEL = 'fixtures/co-promotion.onnx';
const PLAN = {
  profile: 'generic-int8',
  overrides: { content_conv: 'int16', style_conv: 'a16w8', branch_join: 'fp16', fused_consumer: 'fp32' },
};

/** python3 with numpy and PyYAML, which the node machine image ships; tests that need it skip without it. */
const PYTHON = spawnSync('python3', ['-c', 'import numpy, yaml'], { encoding: 'utf8' }).status === 0;
if (!PYTHON) console.warn('app-export: python3 with numpy and PyYAML not found; the YAML and script checks are skipped');

function python(script: string, args: string[] = [], env: Record<string, string> = {}): string {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout;
}

function writePlan(dir: string, plan: unknown = PLAN): string {
  const file = join(dir, 'co.plan.json');
  writeFileSync(file, JSON.stringify(plan, null, 2));
  return file;
}

function names(graph: Graph): { nodes: Set<string>; tensors: Set<string> } {
  const tensors = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  for (const n of graph.nodes) for (const o of n.outputs) tensors.add(o);
  return { nodes: new Set(graph.nodes.map((n) => n.name)), tensors };
}

describe('export --to ort-overrides', () => {
  const dir = tempDir('qs-export-ort-');
  const result = exportPlan({ planFile: writePlan(dir), model: MODEL, target: 'ort-overrides' });
  const doc = JSON.parse(readFileSync(result.files[0], 'utf8')) as {
    model: string;
    quantize_static: {
      nodes_to_exclude: string[];
      extra_options: { TensorQuantOverrides: Record<string, Record<string, unknown>[]>; UseQDQContribOps: boolean };
    };
    notes: string[];
  };

  it('writes the JSON and the script beside the plan', () => {
    expect(result.files).toEqual([join(dir, 'co.ort-overrides.json'), join(dir, 'co.ort-overrides.py')]);
    expect(exportFileFor(join(dir, 'co.plan.json'), 'ort-overrides')).toBe(result.files[0]);
  });

  it('holds the documented overrides, every name in the model', () => {
    const { nodes, tensors } = names(loadModel(MODEL).graph);
    const q = doc.quantize_static;
    expect(q.nodes_to_exclude).toEqual(['fused_consumer']);
    for (const n of q.nodes_to_exclude) expect(nodes.has(n)).toBe(true);
    for (const t of Object.keys(q.extra_options.TensorQuantOverrides)) expect(tensors.has(t), t).toBe(true);
    expect(q.extra_options.TensorQuantOverrides).toMatchObject({
      content: [{ quant_type: 'QInt16', symmetric: true }],
      content_conv_out: [{ quant_type: 'QInt16', symmetric: true }],
      content_conv_W: [{ quant_type: 'QInt16', axis: 0 }],
      style: [{ quant_type: 'QInt16', symmetric: true }],
      style_conv_out: [{ quant_type: 'QInt16', symmetric: true }],
      style_conv_W: [{ quant_type: 'QInt8', axis: 0 }],
    });
    expect(q.extra_options.TensorQuantOverrides.fused_consumer_W).toBeUndefined();
    expect(q.extra_options.TensorQuantOverrides.branch_join_out).toBeUndefined();
    expect(q.extra_options.UseQDQContribOps).toBe(true);
    expect(doc.notes.join('\n')).toMatch(/1 non-quantized node\(s\) planned fp16 \('branch_join'\) run in FP32/);
  });

  it.skipIf(!PYTHON)('its script hands quantize_static QuantType values, the exclusions and the samples', () => {
    const fake = join(dir, 'fake');
    mkdirSync(join(fake, 'onnxruntime'), { recursive: true });
    writeFileSync(join(fake, 'onnxruntime', '__init__.py'), '');
    writeFileSync(
      join(fake, 'onnxruntime', 'quantization.py'),
      [
        'import enum, json, os',
        'QuantType = enum.Enum("QuantType", "QInt8 QUInt8 QInt16 QUInt16")',
        'QuantFormat = enum.Enum("QuantFormat", "QOperator QDQ")',
        'class CalibrationDataReader: pass',
        'def quantize_static(model_input, model_output, reader, **kw):',
        '    samples = []',
        '    while (s := reader.get_next()) is not None: samples.append({k: list(v.shape) for k, v in s.items()})',
        '    enc = lambda o: f"{type(o).__name__}.{o.name}" if isinstance(o, enum.Enum) else sorted(o)',
        '    json.dump(dict(model_input=model_input, model_output=model_output, samples=samples, **kw), open(os.environ["RECORD"], "w"), default=enc)',
      ].join('\n'),
    );
    const sample = join(dir, 'sample.npz');
    python(
      `import numpy as np, sys; np.savez(sys.argv[1], content=np.zeros((1,3,16,16), np.float32), style=np.ones((1,3,16,16), np.float32))`,
      [sample],
    );
    const record = join(dir, 'record.json');
    const r = spawnSync('python3', [result.files[1], join(dir, 'out.onnx'), sample], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: fake, RECORD: record },
    });
    expect(r.stderr).toMatch(/note: /);
    expect(r.status).toBe(0);
    const got = JSON.parse(readFileSync(record, 'utf8')) as Record<string, unknown> & {
      extra_options: { TensorQuantOverrides: Record<string, unknown> };
    };
    expect(got.model_input).toBe(doc.model);
    expect(got.samples).toEqual([{ content: [1, 3, 16, 16], style: [1, 3, 16, 16] }]);
    expect(got).toMatchObject({
      quant_format: 'QuantFormat.QDQ',
      activation_type: 'QuantType.QInt8',
      nodes_to_exclude: ['fused_consumer'],
      per_channel: true,
    });
    expect(got.extra_options.TensorQuantOverrides.style_conv_W).toEqual([{ quant_type: 'QuantType.QInt8', symmetric: true, axis: 0 }]);
  });
});

describe('export --to tensorrt', () => {
  const dir = tempDir('qs-export-trt-');
  const result = exportPlan({ planFile: writePlan(dir), model: MODEL, target: 'tensorrt' });
  const text = readFileSync(result.files[0], 'utf8');

  it('writes a shell script that sh accepts, with the constraints as trtexec takes them', () => {
    expect(result.files).toEqual([join(dir, 'co.trtexec.sh')]);
    expect(spawnSync('sh', ['-n', result.files[0]]).status).toBe(0);
    expect(text).toContain("'--layerPrecisions=content_conv:fp16,style_conv:fp16,branch_join:fp16,fused_consumer:fp32'");
    expect(text).toContain("'--layerOutputTypes=content_conv:fp16,style_conv:fp16,branch_join:fp16,fused_consumer:fp32'");
    expect(text).toMatch(/--fp16 \\\n {2}--precisionConstraints=obey/);
    expect(text).not.toContain('--int8');
    expect(text).toMatch(/# {3}int16 \(1 node\) → fp16 \(TensorRT has no INT16 layers/);
  });

  it('names only nodes of the model', () => {
    const { nodes } = names(loadModel(MODEL).graph);
    const spec = /--layerPrecisions=([^']*)'/.exec(text)?.[1] ?? '';
    for (const entry of spec.split(',')) expect(nodes.has(entry.slice(0, entry.lastIndexOf(':'))), entry).toBe(true);
  });
});

describe('export --to rknn', () => {
  const dir = tempDir('qs-export-rknn-');
  const plan = writePlan(dir);
  const table: [string, Record<string, string>][] = [
    ['rk3588', { content_conv_out: 'float16', style_conv_out: 'float16', branch_join_out: 'float16', y: 'float16' }],
    ['rv1106', { content_conv_out: 'int16', style_conv_out: 'int16', branch_join_out: 'int16', y: 'int16' }],
  ];
  it.skipIf(!PYTHON).each(table)('on %s: a YAML custom_quantize_layers section of model tensors', (platform, expected) => {
    const out = join(dir, `co.${platform}.yaml`);
    const result = exportPlan({ planFile: plan, model: MODEL, target: 'rknn', platform, out });
    expect(result.files).toEqual([out]);
    const parsed = JSON.parse(python('import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', [out])) as Record<
      string,
      unknown
    >;
    expect(Object.keys(parsed)).toEqual(['custom_quantize_layers']);
    expect(parsed.custom_quantize_layers).toEqual(expected);
    const { tensors } = names(loadModel(MODEL).graph);
    for (const t of Object.keys(expected)) expect(tensors.has(t)).toBe(true);
  });

  it.skipIf(!PYTHON)('keeps hostile tensor names intact through YAML', () => {
    const out = join(dir, 'hostile.yaml');
    const hostilePlan = writePlan(dir, { profile: 'generic-int8', overrides: { 'op:Conv': 'int16' } });
    exportPlan({ planFile: hostilePlan, model: 'fixtures/hostile-names.onnx', target: 'rknn', out });
    const parsed = JSON.parse(python('import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', [out])) as {
      custom_quantize_layers: Record<string, string>;
    };
    const { tensors } = names(loadModel('fixtures/hostile-names.onnx').graph);
    const listed = Object.keys(parsed.custom_quantize_layers);
    expect(listed.length).toBeGreaterThan(0);
    for (const t of listed) expect(tensors.has(t), t).toBe(true);
  });
});

describe('hostile names', () => {
  const dir = tempDir('qs-export-hostile-');
  const plan = writePlan(dir, { profile: 'generic-int8', overrides: { 'op:Conv': 'int16', 'op:Mul': 'fp16' } });
  const model = 'fixtures/hostile-names.onnx';
  const { nodes, tensors } = names(loadModel(model).graph);

  it('onnxruntime: the JSON keeps every name exactly', () => {
    const doc = JSON.parse(readFileSync(exportPlan({ planFile: plan, model, target: 'ort-overrides' }).files[0], 'utf8')) as {
      quantize_static: { extra_options: { TensorQuantOverrides: Record<string, unknown> } };
    };
    const listed = Object.keys(doc.quantize_static.extra_options.TensorQuantOverrides);
    expect(listed).toContain('\x1b[31mred\x1b[0m');
    for (const t of listed) expect(tensors.has(t), t).toBe(true);
  });

  it('tensorrt: a name with a NUL is left out and said so; the script stays valid shell', () => {
    const result = exportPlan({ planFile: plan, model, target: 'tensorrt' });
    expect(spawnSync('sh', ['-n', result.files[0]]).status).toBe(0);
    expect(result.notes.join('\n')).toMatch(/1 node name\(s\) hold ',', ''' or a NUL \('nul\\x00node'\)/);
    const text = readFileSync(result.files[0], 'utf8');
    const spec = /--layerPrecisions=([^']*)'/.exec(text)?.[1] ?? '';
    expect(spec).toContain(':fp16');
    for (const entry of spec.split(',')) expect(nodes.has(entry.slice(0, entry.lastIndexOf(':'))), entry).toBe(true);
  });
});

describe('bad input', () => {
  const dir = tempDir('qs-export-bad-');
  const plan = writePlan(dir);
  const cases: [string, Parameters<typeof exportPlan>[0], RegExp][] = [
    ['a missing model', { planFile: plan, model: join(dir, 'nope.onnx'), target: 'rknn' }, /Model file '.*nope\.onnx' does not exist\./],
    [
      '--platform off rknn',
      { planFile: plan, model: MODEL, target: 'tensorrt', platform: 'rk3588' },
      /--platform applies to --to rknn only, not to --to tensorrt\./,
    ],
    [
      'an unknown platform',
      { planFile: plan, model: MODEL, target: 'rknn', platform: 'rk9999' },
      /--platform 'rk9999' is not one of rk3562, .*rv1106\./,
    ],
    [
      'ort --out not .json',
      { planFile: plan, model: MODEL, target: 'ort-overrides', out: join(dir, 'x.txt') },
      /--out '.*x\.txt' must name a \.json file for --to ort-overrides/,
    ],
    [
      '--out over the plan',
      { planFile: plan, model: MODEL, target: 'tensorrt', out: plan },
      /would overwrite the input '.*co\.plan\.json'; choose another --out\./,
    ],
    [
      'a plan for another model',
      { planFile: plan, model: 'fixtures/conv-in-relu.onnx', target: 'tensorrt' },
      /Plan override 'content_conv': no node or tensor is named 'content_conv'/,
    ],
  ];
  it.each(cases)('%s is a UserError and writes nothing', (_, options, message) => {
    const before = existsSync(exportFileFor(plan, options.target));
    expect(() => exportPlan(options)).toThrow(UserError);
    expect(() => exportPlan(options)).toThrow(message);
    expect(existsSync(exportFileFor(plan, options.target))).toBe(before);
  });
});

describe('the CLI', () => {
  it('prints every path written and the mapping on stdout, the notes on stderr', async () => {
    const dir = tempDir('qs-export-cli-');
    const plan = writePlan(dir);
    const r = await runCliInProcess(['export', plan, '--to', 'ort-overrides', '--model', MODEL]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(dir, 'co.ort-overrides.json')}\nwrote ${join(dir, 'co.ort-overrides.py')}\n`);
    expect(r.stdout).toMatch(/a16w8 \(1 node\) → QInt16 activations, QInt8 per-channel weights/);
    expect(r.stderr).toMatch(/^note: quantize_static has no per-node FP16|note: 1 non-quantized node\(s\) planned fp16/m);
    const json = await runCliInProcess(['export', plan, '--to', 'rknn', '--model', MODEL, '--json', '--quiet']);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({ target: 'rknn', files: [join(dir, 'co.rknn.yaml')], entries: 4 });
  });

  it('wants --to and --model', async () => {
    expect((await runCliInProcess(['export', 'x.json', '--model', MODEL])).stderr).toMatch(/Missing required argument: to/);
    expect((await runCliInProcess(['export', 'x.json', '--to', 'rknn', '--model', MODEL, '--to'])).stderr).toMatch(/--to needs a value\./);
    expect((await runCliInProcess(['export', 'x.json', '--to', 'nope', '--model', MODEL])).stderr).toMatch(
      /--to 'nope' is not one of ort-overrides, tensorrt, rknn\./,
    );
  });
});

describe.skipIf(!HAS_SHARED)('udnie with a fix plan', () => {
  // The plan `quantscope fix udnie.onnx -i cat.jpg --calib dog.jpg` writes (13 convolutions at a16w8).
  const fixPlan = {
    profile: 'generic-int8',
    overrides: Object.fromEntries(
      [
        'convolution14',
        'convolution1',
        'convolution2',
        'convolution12',
        'convolution11',
        'convolution10',
        'convolution9',
        'convolution8',
        'convolution7',
        'convolution6',
        'convolution5',
        'convolution4',
        'convolution',
      ].map((n) => [n, 'a16w8']),
    ),
  };
  const model = join(SHARED, 'models', 'udnie.onnx');
  const dir = tempDir('qs-export-udnie-');
  const plan = writePlan(dir, fixPlan);
  const { nodes, tensors } = names(loadModel(model).graph);

  it('every exported name exists in udnie', () => {
    const ort = JSON.parse(readFileSync(exportPlan({ planFile: plan, model, target: 'ort-overrides' }).files[0], 'utf8')) as {
      quantize_static: {
        nodes_to_exclude: string[];
        extra_options: { TensorQuantOverrides: Record<string, { quant_type: string; convert?: { recv_nodes: string[] } }[]> };
      };
    };
    const overrides = ort.quantize_static.extra_options.TensorQuantOverrides;
    for (const [t, [d]] of Object.entries(overrides)) {
      expect(tensors.has(t), t).toBe(true);
      for (const n of d.convert?.recv_nodes ?? []) expect(nodes.has(n), n).toBe(true);
    }
    expect(Object.values(overrides).filter(([d]) => d.quant_type === 'QInt16').length).toBeGreaterThanOrEqual(13);

    const trt = readFileSync(exportPlan({ planFile: plan, model, target: 'tensorrt' }).files[0], 'utf8');
    const spec = /--layerPrecisions=([^']*)'/.exec(trt)?.[1] ?? '';
    const layers = spec.split(',').map((e) => e.slice(0, e.lastIndexOf(':')));
    for (const l of layers) expect(nodes.has(l), l).toBe(true);
    for (const n of fixPlan.overrides ? Object.keys(fixPlan.overrides) : []) expect(spec).toContain(`${n}:fp16`);

    const rknn = readFileSync(exportPlan({ planFile: plan, model, target: 'rknn' }).files[0], 'utf8');
    const keys = rknn
      .split('\n')
      .filter((l) => l.startsWith('    "'))
      .map((l) => JSON.parse(l.trim().replace(/: (int8|int16|float16)$/, '')) as string);
    expect(keys.length).toBeGreaterThan(13);
    for (const k of keys) expect(tensors.has(k), k).toBe(true);
  });
});
