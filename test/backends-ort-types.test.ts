import { describe, expect, it } from 'vitest';
import { FloatBackend } from '../src/backends/float.js';
import { isOrtDType } from '../src/backends/ort-tensor.js';
import { UserError } from '../src/core/errors.js';
import { makeTensor } from '../src/core/tensor.js';
import { createModel } from '../src/onnx/index.js';

/**
 * Dtypes onnxruntime-node cannot carry across its binding. int4 is the dangerous one: asking the
 * binding for an int4 output aborts the process, so the session refuses it with a UserError first.
 */

/** z -> QuantizeLinear(int4 zero point) -> q (int4) -> DequantizeLinear -> w. */
function int4Model(int4Input: boolean) {
  return createModel({
    name: 'int4-round-trip',
    opsets: { '': 21 },
    inputs: [int4Input ? { name: 'q', dtype: 'int4', shape: [3] } : { name: 'z', dtype: 'float32', shape: [3] }],
    outputs: [{ name: 'w', dtype: 'float32', shape: [3] }],
    nodes: [
      ...(int4Input ? [] : [{ name: 'quantize', opType: 'QuantizeLinear', inputs: ['z', 's', 'zp'], outputs: ['q'] }]),
      { name: 'dequantize', opType: 'DequantizeLinear', inputs: ['q', 's', 'zp'], outputs: ['w'] },
    ],
    initializers: [
      { name: 's', tensor: makeTensor('float32', [], Float32Array.of(1)) },
      { name: 'zp', tensor: makeTensor('int4', [], Int8Array.of(0)) },
    ],
  });
}

describe('onnxruntime-node dtypes', () => {
  it.each([
    { dtype: 'float32', ok: true },
    { dtype: 'float16', ok: true },
    { dtype: 'int64', ok: true },
    { dtype: 'bool', ok: true },
    { dtype: 'string', ok: true },
    { dtype: 'bfloat16', ok: false },
    { dtype: 'float8e4m3fn', ok: false },
    { dtype: 'int4', ok: false },
    { dtype: 'uint4', ok: false },
    { dtype: 'complex64', ok: false },
  ] as const)('$dtype crosses the binding: $ok', ({ dtype, ok }) => {
    expect(isOrtDType(dtype)).toBe(ok);
  });

  it('a model with int4 inside runs, and tapping the int4 tensor is a UserError, not a crash', async () => {
    const backend = await FloatBackend.create(int4Model(false), { label: 'the int4 model', threads: 1 });
    try {
      const feeds = new Map([['z', makeTensor('float32', [3], Float32Array.of(1, -3, 9))]]);
      const out = await backend.run(feeds, []);
      expect(Array.from(out.get('w')?.data as Float32Array)).toEqual([1, -3, 7]); // int4 saturates at 7
      await expect(backend.run(feeds, ['q'])).rejects.toThrow(UserError);
      await expect(backend.run(feeds, ['q'])).rejects.toThrow("onnxruntime-node cannot return the int4 tensor 'q' of the int4 model.");
    } finally {
      await backend.dispose();
    }
  });

  it('an int4 model input is a UserError naming it', async () => {
    const backend = await FloatBackend.create(int4Model(true), { label: 'the int4 model', threads: 1 });
    try {
      const feeds = new Map([['q', makeTensor('int4', [3], Int8Array.of(1, -3, 7))]]);
      await expect(backend.run(feeds, [])).rejects.toThrow("onnxruntime-node cannot take the int4 input 'q' of the int4 model.");
    } finally {
      await backend.dispose();
    }
  });
});
