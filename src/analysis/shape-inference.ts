import { bytesPerElement, lanes } from '../core/dtype.js';
import type { Graph, ValueInfo } from '../core/graph.js';
import { elementCount, type Tensor } from '../core/tensor.js';
import {
  FOLD_LIMIT,
  inferred,
  knownFromTensor,
  UNKNOWN,
  type InferredValue,
  type KnownValue,
  type RuleContext,
  type ShapeRule,
} from './shape-context.js';
import { cleanDim, isNum } from './shape-dims.js';
import { foldRules } from './shape-fold.js';
import { elementwiseRules } from './shape-ops-elementwise.js';
import { generateRules } from './shape-ops-generate.js';
import { layoutRules } from './shape-ops-layout.js';
import { nnRules } from './shape-ops-nn.js';
import { reduceRules } from './shape-ops-reduce.js';
import { resizeRules } from './shape-ops-resize.js';

export type { InferredValue } from './shape-context.js';

/** The opset assumed when the model does not import the default domain. */
const LATEST_OPSET = 21;

const RULES = new Map<string, ShapeRule>(
  Object.entries({
    ...elementwiseRules,
    ...nnRules,
    ...layoutRules,
    ...reduceRules,
    ...resizeRules,
    ...generateRules,
  }),
);
const FOLDS = new Map(Object.entries(foldRules));

/** The ops inferShapes knows (default ONNX domain). */
export const SHAPE_INFERENCE_OPS: readonly string[] = [...RULES.keys()].sort();

/**
 * Static shape and dtype of every tensor of the graph: initializers, real inputs and node outputs.
 *
 * - Real inputs take `inputShapes` when given, else their declared shape (symbolic dims stay names).
 * - Nodes are visited in topological order; each default-domain op has a rule (shape-ops-*.ts).
 *   Small int tensors that feed shapes are folded (shape-fold.ts): initializers read through
 *   `constants`, Constant nodes, and Shape of a known rank, whose symbolic dims travel as names.
 * - A declared value_info or graph output fills in what inference leaves unknown: a null shape,
 *   or single dims that are not numbers when the ranks agree. Inferred numbers are never replaced.
 * - Unknown ops, other domains and malformed nodes give dtype/shape null rather than an error;
 *   any dim that is not a non-negative safe integer or a symbol becomes null. `constants` is
 *   called only for initializers of at most FOLD_LIMIT elements that feed a shape or a fold, at
 *   most once per name; an error it throws (an unreadable external file) propagates.
 * Deterministic, and linear in the node count.
 */
export function inferShapes(
  graph: Graph,
  inputShapes?: ReadonlyMap<string, readonly number[]>,
  constants?: (name: string) => Tensor | undefined,
): Map<string, InferredValue> {
  const result = new Map<string, InferredValue>();
  // null records "looked up, not known" so initializers are read at most once.
  const values = new Map<string, KnownValue | null>();
  for (const init of graph.initializers.values()) result.set(init.name, inferred(init.dtype, init.dims));
  for (const input of graph.inputs) {
    const given = inputShapes?.get(input.name);
    result.set(input.name, clean(inferred(input.dtype, given ?? input.shape)));
  }

  const valueOf = (name: string): KnownValue | undefined => {
    const cached = values.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const init = graph.initializers.get(name);
    if (!init) return undefined;
    const tensor = constants && elementCount(init.dims) <= FOLD_LIMIT ? constants(name) : undefined;
    const v = tensor ? knownFromTensor(tensor) : undefined;
    values.set(name, v ?? null);
    return v;
  };

  for (const node of graph.nodes) {
    const has = (i: number) => i >= 0 && i < node.inputs.length && node.inputs[i] !== '';
    const ctx: RuleContext = {
      node,
      opset: graph.opsets.get(node.domain === 'ai.onnx' ? '' : node.domain) ?? LATEST_OPSET,
      has,
      input: (i) => (has(i) ? (result.get(node.inputs[i]) ?? UNKNOWN) : UNKNOWN),
      value: (i) => (has(i) ? valueOf(node.inputs[i]) : undefined),
    };
    const rule = node.domain === '' || node.domain === 'ai.onnx' ? RULES.get(node.opType) : undefined;
    const outs = rule ? asList(rule(ctx)) : [];
    const first = clean(outs[0] ?? UNKNOWN);
    const fold = rule ? FOLDS.get(node.opType) : undefined;
    const folded = fold ? fold(ctx, first) : undefined;
    node.outputs.forEach((name, i) => {
      if (name === '') return;
      let v = i === 0 ? first : clean(outs[i] ?? UNKNOWN);
      if (i === 0 && folded) v = inferred(folded.dtype, folded.dims);
      values.set(name, i === 0 && folded ? folded : null);
      result.set(name, refine(v, graph.values.get(name)));
    });
  }
  return result;
}

/**
 * Bytes the tensor takes in memory as a core Tensor: elements x bytes per typed-array element
 * (int4 unpacked to one byte, complex as two lanes). null when the dtype, the rank or any dim is
 * unknown or symbolic, and for strings, whose size depends on the contents.
 */
export function tensorBytes(v: InferredValue): number | null {
  if (v.dtype === null || v.shape === null || v.dtype === 'string') return null;
  let n = 1;
  for (const d of v.shape) {
    if (!isNum(d)) return null;
    n *= d;
  }
  return n * bytesPerElement(v.dtype) * lanes(v.dtype);
}

function asList(r: InferredValue | readonly InferredValue[]): readonly InferredValue[] {
  return Array.isArray(r) ? (r as readonly InferredValue[]) : [r as InferredValue];
}

function clean(v: InferredValue): InferredValue {
  return v.shape === null || v.shape.every((d) => cleanDim(d) === d) ? v : inferred(v.dtype, v.shape.map(cleanDim));
}

function refine(v: InferredValue, declared: ValueInfo | undefined): InferredValue {
  const dtype = v.dtype ?? declared?.dtype ?? null;
  const shape = declared?.shape?.map(cleanDim);
  if (!shape) return dtype === v.dtype ? v : inferred(dtype, v.shape);
  if (v.shape === null) return inferred(dtype, shape);
  if (v.shape.length !== shape.length) return inferred(dtype, v.shape);
  return inferred(
    dtype,
    v.shape.map((d, i) => (isNum(d) ? d : isNum(shape[i]) ? shape[i] : (d ?? shape[i]))),
  );
}
