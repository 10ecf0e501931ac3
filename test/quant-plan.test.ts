import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import {
  allowedPrecisions,
  defaultPrecision,
  isQuantizable,
  planToFile,
  precisionCounts,
  resolvePlan,
  withOverrides,
  type Override,
} from '../src/quant/plan.js';
import { overrideKeyOrder, readPlanFile, writePlanFile } from '../src/store/plan-file.js';
import { loadProfile } from '../src/store/profile-file.js';
import type { Precision } from '../src/quant/profile.js';
import { smallNet } from './quant-fixtures.js';

const generic = loadProfile('generic-int8');
const fp16 = loadProfile('int8-fp16');
const g = smallNet();
const precisions = (overrides: Override[], profile = generic) => Object.fromEntries(resolvePlan(g, profile, overrides).precision);

describe('defaults', () => {
  it('quantized ops default to int8 and the rest to the profile float precision', () => {
    expect(precisions([])).toEqual({
      conv1: 'int8',
      relu1: 'fp32',
      conv2: 'int8',
      in2: 'fp32',
      relu2: 'fp32',
      concat: 'fp32',
      conv3: 'int8',
    });
    expect(precisions([], fp16)).toMatchObject({ conv1: 'int8', relu1: 'fp16', concat: 'fp16' });
  });

  it('knows which node takes what', () => {
    const conv = g.nodes[0];
    const relu = g.nodes[1];
    expect(isQuantizable(generic, conv)).toBe(true);
    expect(isQuantizable(generic, relu)).toBe(false);
    expect(defaultPrecision(fp16, relu)).toBe('fp16');
    expect(allowedPrecisions(generic, conv)).toEqual(['int8', 'a16w8', 'int16', 'fp16', 'fp32']);
    expect(allowedPrecisions(generic, relu)).toEqual(['fp16', 'fp32']);
  });
});

describe('overrides', () => {
  const cases: [string, Override[], Record<string, Precision>][] = [
    [
      '"*" promotes every quantized op and leaves float ops alone',
      [['*', 'int16']],
      { conv1: 'int16', conv2: 'int16', conv3: 'int16', relu1: 'fp32', concat: 'fp32' },
    ],
    ['"*" at fp16 reaches every node', [['*', 'fp16']], { conv1: 'fp16', relu1: 'fp16', concat: 'fp16' }],
    ['exact node name', [['conv2', 'int16']], { conv1: 'int8', conv2: 'int16', conv3: 'int8' }],
    ['tensor name means its producer', [['c2', 'int16']], { conv2: 'int16' }],
    ['op: pattern', [['op:Relu', 'fp16']], { relu1: 'fp16', relu2: 'fp16', in2: 'fp32' }],
    ['glob', [['conv?', 'fp32']], { conv1: 'fp32', conv2: 'fp32', conv3: 'fp32' }],
    ['regex', [['re:^conv[12]$', 'int16']], { conv1: 'int16', conv2: 'int16', conv3: 'int8' }],
    ['comma list', [['conv1,conv3', 'int16']], { conv1: 'int16', conv2: 'int8', conv3: 'int16' }],
    ['pattern over mixed nodes takes the ones that can', [['op:Conv|Relu', 'int16']], { conv1: 'int16', relu1: 'fp32' }],
    [
      'later keys win (1)',
      [
        ['*', 'int16'],
        ['conv2', 'int8'],
      ],
      { conv1: 'int16', conv2: 'int8' },
    ],
    [
      'later keys win (2)',
      [
        ['conv2', 'int8'],
        ['*', 'int16'],
      ],
      { conv1: 'int16', conv2: 'int16' },
    ],
    [
      'a repeated spec keeps its last value and position',
      [
        ['conv2', 'fp32'],
        ['*', 'int16'],
        ['conv2', 'int8'],
      ],
      { conv2: 'int8', conv1: 'int16' },
    ],
  ];
  it.each(cases)('%s', (_, overrides, expected) => {
    expect(precisions(overrides)).toMatchObject(expected);
  });

  const errors: [string, Override[], RegExp][] = [
    [
      'an exact name of a float op at int16',
      [['relu1', 'int16']],
      /Plan override 'relu1': node 'relu1' \(Relu\) is not a quantized op in profile 'generic-int8', so it can run at fp16 or fp32 but not int16\./,
    ],
    [
      'an unknown exact name, with suggestions',
      [['conv9', 'int16']],
      /Plan override 'conv9': no node or tensor is named 'conv9'; the closest are 'conv1', 'conv2', 'conv3'\./,
    ],
    [
      'a pattern with no node that can take it',
      [['re:^relu', 'int16']],
      /Plan override 're:\^relu' matches no node that can run at int16; it matches 2 node\(s\), none of them a quantized op \(Conv, ConvTranspose, MatMul, Gemm\); the closest are/,
    ],
    [
      'an op: pattern with no node that can take it',
      [['op:Concat', 'int8']],
      /matches no node that can run at int8.*the op types that can are 'op:Conv'/,
    ],
    [
      'a glob that matches nothing',
      [['deconv*', 'fp16']],
      /Plan override 'deconv\*' matches no node that can run at fp16; the closest are/,
    ],
    ['one bad term of a list', [['conv1,relu2', 'int16']], /Plan override 'conv1,relu2' \(term 'relu2'\): node 'relu2' \(Relu\)/],
    [
      'an unknown precision',
      [['conv1', 'int4' as Precision]],
      /Plan override 'conv1' has precision 'int4'; it must be int8, int16, fp16 or fp32\./,
    ],
  ];
  it.each(errors)('rejects %s', (_, overrides, message) => {
    expect(() => resolvePlan(g, generic, overrides)).toThrow(UserError);
    expect(() => resolvePlan(g, generic, overrides)).toThrow(message);
  });

  it('withOverrides appends, so the new ones win, and keeps each spec once', () => {
    const base = resolvePlan(g, generic, [
      ['*', 'int16'],
      ['conv2', 'fp32'],
    ]);
    const more = withOverrides(base, g, [
      ['conv2', 'int8'],
      ['relu1', 'fp16'],
    ]);
    expect(more.overrides).toEqual([
      ['*', 'int16'],
      ['conv2', 'int8'],
      ['relu1', 'fp16'],
    ]);
    expect(more.precision.get('conv2')).toBe('int8');
    expect(more.precision.get('relu1')).toBe('fp16');
    expect(base.precision.get('conv2')).toBe('fp32');
    expect(precisionCounts(more)).toEqual({ int8: 1, a16w8: 0, int16: 2, fp16: 1, fp32: 3 });
  });
});

describe('plan files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'quant-plan-'));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('round-trips a plan through write and read, atomically', () => {
    const plan = resolvePlan(g, generic, [
      ['*', 'int16'],
      ['conv2', 'int8'],
    ]);
    const file = path.join(dir, 'plan.json');
    writePlanFile(file, planToFile(plan));
    expect(readFileSync(file, 'utf8')).toBe(
      '{\n  "profile": "generic-int8",\n  "overrides": {\n    "*": "int16",\n    "conv2": "int8"\n  }\n}\n',
    );
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const back = readPlanFile(file);
    expect(back).toEqual({
      profile: 'generic-int8',
      overrides: [
        ['*', 'int16'],
        ['conv2', 'int8'],
      ],
    });
    expect(resolvePlan(g, loadProfile(back.profile), back.overrides).precision).toEqual(plan.precision);
  });

  it('keeps file order for integer-like keys, which JavaScript objects would move first', () => {
    const text = '{"profile":"generic-int8","overrides":{"conv2":"int8","123":"int16","x":{"y":1},"a\\"b":"fp16"}}';
    expect(Object.keys(JSON.parse(text).overrides)).toEqual(['123', 'conv2', 'x', 'a"b']);
    expect(overrideKeyOrder(text)).toEqual(['conv2', '123', 'x', 'a"b']);
    const file = path.join(dir, 'order.json');
    writePlanFile(file, {
      profile: 'generic-int8',
      overrides: [
        ['conv2', 'int8'],
        ['123', 'int16'],
      ],
    });
    expect(readPlanFile(file).overrides).toEqual([
      ['conv2', 'int8'],
      ['123', 'int16'],
    ]);
  });

  it('writes an empty overrides object and reads a missing one as empty', () => {
    const file = path.join(dir, 'empty.json');
    writePlanFile(file, { profile: 'int8-fp16', overrides: [] });
    expect(readPlanFile(file)).toEqual({ profile: 'int8-fp16', overrides: [] });
    expect(readPlanFile(write('none.json', '{"profile":"int8-fp16"}')).overrides).toEqual([]);
  });

  it('resolves a relative profile path against the plan file directory', () => {
    const file = write('rel.json', '{"profile":"profiles/npu.json","overrides":{}}');
    expect(readPlanFile(file).profile).toBe(path.join(dir, 'profiles', 'npu.json'));
  });

  const bad: [string, string, RegExp][] = [
    ['invalid JSON', '{"profile":', /Plan file '.*' is not valid JSON/],
    ['an array', '[]', /must hold a JSON object with fields 'profile' and 'overrides'/],
    ['a missing profile', '{"overrides":{}}', /field 'profile' must be a profile name or a path/],
    ['an unknown field', '{"profile":"generic-int8","overides":{}}', /field 'overides' is not a plan field/],
    ['overrides as an array', '{"profile":"generic-int8","overrides":[]}', /field 'overrides' must be an object/],
    [
      'a bad precision',
      '{"profile":"generic-int8","overrides":{"conv1":"int4"}}',
      /override 'conv1' must be 'int8', 'a16w8', 'int16', 'fp16' or 'fp32', not 'int4'/,
    ],
    ['a duplicate key', '{"profile":"generic-int8","overrides":{"conv1":"int16","conv1":"int8"}}', /override 'conv1' appears twice/],
  ];
  it.each(bad)('rejects %s', (_, text, message) => {
    expect(() => readPlanFile(write('bad.json', text))).toThrow(message);
  });

  it('names an unreadable file', () => {
    expect(() => readPlanFile(path.join(dir, 'absent.json'))).toThrow(/Cannot read plan file/);
    expect(existsSync(path.join(dir, 'absent.json'))).toBe(false);
  });
});

describe('writing a repeated spec', () => {
  it('keeps its last value at its last position', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'quant-plan-dup-'));
    const file = path.join(dir, 'p.json');
    writePlanFile(file, {
      profile: 'generic-int8',
      overrides: [
        ['conv1', 'int16'],
        ['*', 'fp16'],
        ['conv1', 'fp32'],
      ],
    });
    expect(readPlanFile(file).overrides).toEqual([
      ['*', 'fp16'],
      ['conv1', 'fp32'],
    ]);
  });
});
