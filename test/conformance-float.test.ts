import { describe, expect, it } from 'vitest';
import { FloatBackend } from '../src/backends/float.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';
import { runConformanceCase, type CaseOutcome, type OpenBackend } from './helpers/backend-conformance.js';
import {
  ONNX_TESTDATA_ROOT, ONNX_TESTDATA_SUITES, hasOnnxTestData, listOnnxTestCases, type OnnxTestSuite,
} from './helpers/onnx-testdata.js';
import { tensorMismatch, type Tolerance } from './helpers/tensor-close.js';

/**
 * The float backend against ONNX's backend test data (DESIGN.md §9): every case whose model
 * onnxruntime loads runs on input_*.pb and each output must match output_*.pb.
 */

/**
 * |actual - expected| <= 1e-4 + 1e-3 * |expected|, NaN equal to NaN in the same place, integers,
 * bools and strings exact. ONNX's own runner uses rtol 1e-3 with atol 1e-7; the larger atol
 * absorbs float32 accumulation-order noise around zero (onnxruntime's kernels sum in a different
 * order than numpy's reference).
 */
const TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-3 };

const open: OpenBackend = async (model, label) => {
  const backend = await FloatBackend.create(model, { label, threads: 1 });
  try {
    await backend.prepare([]);
  } catch (error) {
    await backend.dispose();
    throw error;
  }
  return backend;
};

const present = hasOnnxTestData('node');
if (!present) console.log(`conformance-float: skipped, ONNX backend test data not found at ${ONNX_TESTDATA_ROOT} (install libonnx-testdata)`);

describe.skipIf(!present)('float backend on ONNX backend test data', () => {
  for (const suite of ONNX_TESTDATA_SUITES) {
    it.skipIf(!hasOnnxTestData(suite))(`suite '${suite}'`, async () => {
      const started = Date.now();
      const outcomes: [string, CaseOutcome][] = [];
      for (const c of listOnnxTestCases(suite as OnnxTestSuite)) {
        outcomes.push([c.name, await runConformanceCase(c, open, TOLERANCE)]);
      }
      const counts = new Map<string, number>();
      for (const [name, o] of outcomes) {
        const key = o.kind === 'skipped' ? `skip: ${o.reason}` : o.kind === 'refused' ? `refused: ${o.message}` : o.kind;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (o.kind === 'differs') console.log(`DIFF ${suite}/${name}: ${o.detail}`);
        if (o.kind === 'refused') console.log(`REFUSED ${suite}/${name}: ${o.message}`);
      }
      console.log(suite, Date.now() - started, 'ms', [...counts].sort((a, b) => b[1] - a[1]));
      expect(outcomes.length).toBeGreaterThan(0);
    });
  }
});

void tensorMismatch; void makeTensor; export type { Tensor };
