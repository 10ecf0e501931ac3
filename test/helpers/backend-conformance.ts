import path from 'node:path';
import type { Backend } from '../../src/backends/backend.js';
import { isOrtDType } from '../../src/backends/ort-tensor.js';
import { messageOf } from '../../src/core/errors.js';
import type { Tensor } from '../../src/core/tensor.js';
import { readModel } from '../../src/store/model-file.js';
import { graphOf, valueKind, type OnnxModel } from '../../src/onnx/index.js';
import { loadDataSet, type OnnxTestCase } from './onnx-testdata.js';
import { tensorMismatch, type Tolerance } from './tensor-close.js';

/**
 * Runs one ONNX backend test case on a backend and compares every output of every data set with
 * the expected .pb tensors. A case the backend cannot be asked to run gets a reason category
 * instead of a verdict, so the caller can print and count them.
 */
export type CaseOutcome =
  | { readonly kind: 'equal' }
  /** Not attempted: `reason` is a short category shared by many cases. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** The backend refused to load the model; `message` is the first line of onnxruntime's error. */
  | { readonly kind: 'refused'; readonly message: string }
  /** Loaded, but a run threw; `detail` names the data set and the error. */
  | { readonly kind: 'run-failed'; readonly detail: string }
  /** Ran, but an output differs; `detail` names the data set, the output and how. */
  | { readonly kind: 'differs'; readonly detail: string };

/** Opens a backend for a model and loads it eagerly, so that load errors are told from run errors. */
export type OpenBackend = (model: OnnxModel, label: string) => Promise<Backend>;

const TRAINING_DOMAIN = 'ai.onnx.preview.training';

/** The first non-empty line of the innermost message (onnxruntime's own words, not our wrapper's). */
export function rootMessage(error: unknown): string {
  let e: unknown = error;
  while (e instanceof Error && e.cause !== undefined) e = e.cause;
  const text = messageOf(e);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}

/** Why the case cannot be attempted, judged from the model's declarations alone. */
function staticSkipReason(model: OnnxModel): string | undefined {
  const graph = graphOf(model);
  if (graph.nodes.some((n) => n.domain === TRAINING_DOMAIN)) return `training op (${TRAINING_DOMAIN})`;
  for (const v of [...graph.inputs, ...graph.outputs]) {
    const kind = valueKind(model, v.name);
    if (kind !== 'tensor' && kind !== 'unknown') return `${kind} input or output (not a tensor)`;
    if (v.dtype !== undefined && !isOrtDType(v.dtype)) return `dtype ${v.dtype} (no onnxruntime-node tensor type)`;
  }
  return undefined;
}

/**
 * `tol` applies to float outputs (see tensorMismatch). Throws only if the model or a data file
 * does not read, which the parsing conformance test covers on its own.
 */
export async function runConformanceCase(c: OnnxTestCase, open: OpenBackend, tol: Tolerance): Promise<CaseOutcome> {
  const model = readModel(c.model);
  const reason = staticSkipReason(model);
  if (reason) return { kind: 'skipped', reason };
  const sets = c.dataSets.map((s) => ({ name: path.basename(s.dir), ...loadDataSet(model, s) }));
  if (sets.length === 0) return { kind: 'skipped', reason: 'no test data set' };
  for (const set of sets) {
    if (set.nonTensor.length > 0) return { kind: 'skipped', reason: 'sequence/optional/map data file (not a tensor)' };
    for (const t of [...set.inputs.values(), ...set.outputs.values()]) {
      if (!isOrtDType(t.dtype)) return { kind: 'skipped', reason: `dtype ${t.dtype} (no onnxruntime-node tensor type)` };
    }
  }
  let backend: Backend;
  try {
    backend = await open(model, `${c.suite}/${c.name}`);
  } catch (error) {
    return { kind: 'refused', message: rootMessage(error) };
  }
  try {
    const failures: string[] = [];
    const problems: string[] = [];
    for (const set of sets) {
      let actual: Map<string, Tensor>;
      try {
        actual = await backend.run(set.inputs, []);
      } catch (error) {
        failures.push(`${set.name}: ${rootMessage(error)}`);
        continue;
      }
      for (const [name, expected] of set.outputs) {
        const got = actual.get(name);
        const why = got === undefined ? 'missing from the results' : tensorMismatch(got, expected, tol);
        if (why) problems.push(`${set.name} '${name}': ${why}`);
      }
    }
    if (failures.length > 0) return { kind: 'run-failed', detail: failures.join('; ') };
    return problems.length === 0 ? { kind: 'equal' } : { kind: 'differs', detail: problems.join('; ') };
  } finally {
    await backend.dispose();
  }
}
