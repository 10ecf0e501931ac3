import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Tensor } from '../../src/core/tensor.js';
import { graphOf, tensorFromProto, valueKind, type OnnxModel } from '../../src/onnx/index.js';

/**
 * ONNX's own backend test data (Debian package libonnx-testdata): one directory per case with a
 * `model.onnx` and `test_data_set_<k>/{input,output}_<i>.pb`. Shared by the conformance tests:
 * the parsing checks here, and the backends' output comparisons.
 */
export const ONNX_TESTDATA_ROOT = '/usr/include/onnx/backend/test/data';

/** The suites that ship their models locally (`real` only has download descriptors). */
export const ONNX_TESTDATA_SUITES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator'] as const;
export type OnnxTestSuite = (typeof ONNX_TESTDATA_SUITES)[number];

export interface OnnxTestDataSet {
  readonly dir: string;
  /** input_<i>.pb paths, ordered by i (which is the model's real-input order). */
  readonly inputs: readonly string[];
  /** output_<i>.pb paths, ordered by i (the model's output order). */
  readonly outputs: readonly string[];
}

export interface OnnxTestCase {
  readonly suite: OnnxTestSuite;
  /** Directory name, e.g. 'test_abs'. */
  readonly name: string;
  readonly dir: string;
  readonly model: string;
  readonly dataSets: readonly OnnxTestDataSet[];
}

/** Whether the test data is installed (tests skip with a printed reason when not). */
export function hasOnnxTestData(suite: OnnxTestSuite = 'node'): boolean {
  return existsSync(path.join(ONNX_TESTDATA_ROOT, suite));
}

function indexOf(file: string): number {
  const m = /_(\d+)\.pb$/.exec(file);
  return m ? Number(m[1]) : -1;
}

function numbered(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
    .sort((a, b) => indexOf(a) - indexOf(b))
    .map((f) => path.join(dir, f));
}

/** Every case of a suite that has a model.onnx, sorted by name; [] when the suite is absent. */
export function listOnnxTestCases(suite: OnnxTestSuite = 'node'): OnnxTestCase[] {
  const root = path.join(ONNX_TESTDATA_ROOT, suite);
  if (!existsSync(root)) return [];
  const cases: OnnxTestCase[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = path.join(root, name);
    const model = path.join(dir, 'model.onnx');
    if (!existsSync(model)) continue;
    const dataSets = readdirSync(dir)
      .filter((d) => d.startsWith('test_data_set_') && statSync(path.join(dir, d)).isDirectory())
      .sort((a, b) => Number(a.slice('test_data_set_'.length)) - Number(b.slice('test_data_set_'.length)))
      .map((d) => {
        const setDir = path.join(dir, d);
        return { dir: setDir, inputs: numbered(setDir, 'input_'), outputs: numbered(setDir, 'output_') };
      });
    cases.push({ suite, name, dir, model, dataSets });
  }
  return cases;
}

/** The tensors of one data set, keyed by the model's input and output names. */
export interface LoadedDataSet {
  readonly inputs: Map<string, Tensor>;
  readonly outputs: Map<string, Tensor>;
  /** Files holding non-tensor values (SequenceProto, OptionalProto, MapProto), which are not read. */
  readonly nonTensor: readonly string[];
}

/**
 * Reads a data set's .pb files as tensors, pairing input_<i> with the model's i-th real input and
 * output_<i> with its i-th output. Values the model declares as sequences, maps or optionals are
 * listed in `nonTensor` instead. Throws (UserError) on any file that does not parse.
 */
export function loadDataSet(model: OnnxModel, set: OnnxTestDataSet): LoadedDataSet {
  const graph = graphOf(model);
  const inputs = new Map<string, Tensor>();
  const outputs = new Map<string, Tensor>();
  const nonTensor: string[] = [];
  const load = (files: readonly string[], names: readonly string[], into: Map<string, Tensor>): void => {
    files.forEach((file, i) => {
      const name = names[i] ?? `#${i}`;
      const kind = names[i] === undefined ? 'unknown' : valueKind(model, name);
      if (kind !== 'tensor' && kind !== 'unknown') {
        nonTensor.push(file);
        return;
      }
      into.set(name, tensorFromProto(readFileSync(file), file).tensor);
    });
  };
  load(
    set.inputs,
    graph.inputs.map((v) => v.name),
    inputs,
  );
  load(
    set.outputs,
    graph.outputs.map((v) => v.name),
    outputs,
  );
  return { inputs, outputs, nonTensor };
}
