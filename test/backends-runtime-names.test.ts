import { describe, expect, it } from 'vitest';
import { RuntimeNames, runtimeModel, runtimeNameProblem } from '../src/backends/runtime-names.js';
import { OrtSession } from '../src/backends/session.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { GraphBuilder } from '../src/models/builder.js';
import { createModel, editModel, parseModel, tensorNames } from '../src/onnx/index.js';
import { branchyBytes } from './helpers/branchy-model.js';

const NUL = { x: 'x\u0000', w: 'w\u0000', s: 's\u0000', r: 'r\u0000', sp: 'sp\u0000' };
const feeds = (x: string, cond: boolean): Map<string, Tensor> =>
  new Map([
    [x, makeTensor('float32', [2], new Float32Array([1, -2]))],
    ['cond', makeTensor('bool', [], new Uint8Array([cond ? 1 : 0]))],
  ]);

describe('runtimeNameProblem', () => {
  it('names NUL and unpaired surrogates, and passes every other name', () => {
    expect(runtimeNameProblem('a\u0000b')).toBe('a NUL character');
    expect(runtimeNameProblem('\u0000')).toBe('a NUL character');
    expect(runtimeNameProblem('a\ud800b')).toBe('an unpaired UTF-16 surrogate');
    expect(runtimeNameProblem('a\udc00')).toBe('an unpaired UTF-16 surrogate');
    for (const ok of ['y', '\ud83d\ude42', '\u001b[31mred', '../x', 'a\ufffdb', '\u2400', 'L'.repeat(10_000)])
      expect(runtimeNameProblem(ok), ok).toBeUndefined();
  });
});

describe('RuntimeNames', () => {
  it('aliases only the unsafe names, readably, never onto a name the model has or another alias', () => {
    const names = new Set(['a\u0000b', 'a\u2400b', 'c\ud800', 'c\udc00', 'c\ufffd~2', 'safe']);
    const map = RuntimeNames.for(names);
    expect([...map.aliases]).toEqual([
      ['a\u0000b', 'a\u2400b~2'],
      ['c\ud800', 'c\ufffd'],
      ['c\udc00', 'c\ufffd~3'],
    ]);
    for (const [original, alias] of map.aliases) {
      expect(runtimeNameProblem(alias)).toBeUndefined();
      expect(map.runtime(original)).toBe(alias);
      expect(map.original(alias)).toBe(original);
    }
    expect(map.runtime('a\u2400b')).toBe('a\u2400b');
    expect(map.original('a\u2400b')).toBe('a\u2400b');
    expect(map.runtime('safe')).toBe('safe');
  });

  it('leaves a model with safe names untouched (the same object, nothing copied)', () => {
    const model = parseModel(branchyBytes({ x: 'x', w: 'w', s: 's', r: 'r', sp: 'sp' }));
    const runtime = runtimeModel(model);
    expect(runtime.model).toBe(model);
    expect(runtime.names).toBe(RuntimeNames.identity);
  });

  it('gives the model onnxruntime sees only safe names, subgraphs included', () => {
    const runtime = runtimeModel(parseModel(branchyBytes(NUL)));
    expect([...tensorNames(runtime.model)].every((n) => runtimeNameProblem(n) === undefined)).toBe(true);
    expect(runtime.names.runtime('s\u0000')).toBe('s\u2400');
  });
});

describe('OrtSession over a model with unsafe names', () => {
  it("takes feeds and fetches by the model's own names and returns results under them, through If branches", async () => {
    const model = editModel(parseModel(branchyBytes(NUL)), { addOutputs: ['s\u0000'] });
    const session = await OrtSession.create(model, { label: 'the branchy model' });
    try {
      expect(session.inputNames).toEqual(['x\u0000', 'cond']);
      expect(session.outputNames).toEqual(['r\u0000', 's\u0000']);
      const then = await session.run(feeds('x\u0000', true), ['r\u0000', 's\u0000']);
      expect([...then.keys()].sort()).toEqual(['r\u0000', 's\u0000']);
      expect(Array.from(then.get('s\u0000')?.data as Float32Array)).toEqual([1.5, -1.5]);
      expect(Array.from(then.get('r\u0000')?.data as Float32Array)).toEqual([1.5, 0]);
      const all = await session.run(feeds('x\u0000', false));
      expect(Array.from(all.get('r\u0000')?.data as Float32Array)).toEqual([-1.5, 1.5]);
    } finally {
      await session.dispose();
    }
  });

  it('fetches a tap whose name holds an unpaired surrogate (onnxruntime-node would match it against U+FFFD)', async () => {
    const b = new GraphBuilder({ name: 'surrogate', opset: 13, irVersion: 7, seed: 1 });
    const x = b.input('x', [1, 2]);
    const mid = b.relu(x, { name: 'r1', out: 'mid\ud800' });
    b.output(b.tanh(mid, { name: 't1', out: 'y' }));
    const session = await OrtSession.create(editModel(createModel(b.build()), { addOutputs: ['mid\ud800'] }), {
      label: 'the surrogate model',
    });
    try {
      const out = await session.run(new Map([['x', makeTensor('float32', [1, 2], new Float32Array([-1, 2]))]]), ['y', 'mid\ud800']);
      expect(Array.from(out.get('mid\ud800')?.data as Float32Array)).toEqual([0, 2]);
    } finally {
      await session.dispose();
    }
  });

  it("over a file's own bytes, refuses a fetch or feed name onnxruntime cannot take, by name, in one sentence", async () => {
    const session = await OrtSession.fromBytes(branchyBytes(NUL), { label: 'the file' });
    try {
      const fetch = session.run(feeds('x', true), ['r\u0000']);
      await expect(fetch).rejects.toThrow(UserError);
      await expect(session.run(feeds('x', true), ['r\u0000'])).rejects.toThrow(
        "The tensor 'r\\x00' of the file has a NUL character in its name, which onnxruntime cannot take as an input or output name; rename it in the model.",
      );
      await expect(session.run(feeds('x\u0000', true), [])).rejects.toThrow(
        "The input 'x\\x00' of the file has a NUL character in its name",
      );
    } finally {
      await session.dispose();
    }
  });
});
