import { dtypeFromOnnx, dtypeInfo, type DType } from '../core/dtype.js';
import { intsAttr, type Dim, type GraphNode } from '../core/graph.js';
import { elementCount, toFloat64, type Tensor } from '../core/tensor.js';

/** What static inference knows about one tensor; null where it does not know. */
export interface InferredValue {
  readonly dtype: DType | null;
  /** null when even the rank is unknown; each dim is a number, a symbolic name, or null. */
  readonly shape: readonly Dim[] | null;
}

export const UNKNOWN: InferredValue = Object.freeze({ dtype: null, shape: null });

/**
 * The elements of a small tensor known before the model runs (an initializer, a Constant node, or
 * folded from them). An element is a number, the symbolic dim name that Shape yields for a
 * symbolic input dim, or null when that element alone is unknown.
 */
export interface KnownValue {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly values: readonly Dim[];
}

/** Values are kept only for tensors of at most this many elements, so folding stays cheap. */
export const FOLD_LIMIT = 1024;

/** What a shape rule sees of one node. */
export interface RuleContext {
  readonly node: GraphNode;
  /** Opset version of the node's domain. */
  readonly opset: number;
  /** Whether input i is given (neither omitted with '' nor past the end of the list). */
  has(i: number): boolean;
  /** The inferred value of input i; UNKNOWN when it is not given. */
  input(i: number): InferredValue;
  /** The known elements of input i, when it is a small constant or folded from constants. */
  value(i: number): KnownValue | undefined;
}

/** One inferred value per node output (missing entries mean unknown). */
export type ShapeRule = (ctx: RuleContext) => InferredValue | readonly InferredValue[];

export function inferred(dtype: DType | null | undefined, shape: readonly Dim[] | null | undefined): InferredValue {
  return { dtype: dtype ?? null, shape: shape ?? null };
}

/** The tensor's elements as a KnownValue, or undefined when it is not numeric or too large. */
export function knownFromTensor(t: Tensor): KnownValue | undefined {
  if (!dtypeInfo(t.dtype).numeric || elementCount(t.dims) > FOLD_LIMIT) return undefined;
  return { dtype: t.dtype, dims: t.dims, values: Array.from(toFloat64(t)) };
}

/** The elements as integers (truncated toward zero), or undefined unless every one is a known number. */
export function intsOf(v: KnownValue | undefined): number[] | undefined {
  if (!v) return undefined;
  const out: number[] = [];
  for (const x of v.values) {
    if (typeof x !== 'number' || Number.isNaN(x)) return undefined;
    out.push(Math.trunc(x));
  }
  return out;
}

/** The elements as numbers, or undefined unless every one is a known number. */
export function numbersOf(v: KnownValue | undefined): number[] | undefined {
  if (!v) return undefined;
  const out: number[] = [];
  for (const x of v.values) {
    if (typeof x !== 'number') return undefined;
    out.push(x);
  }
  return out;
}

/** The axes from the `axes` attribute or input 1: null when the input is given but not known, [] when neither is. */
export function axesOf(ctx: RuleContext): readonly number[] | null {
  const attr = intsAttr(ctx.node, 'axes');
  if (attr) return attr;
  if (!ctx.has(1)) return [];
  return intsOf(ctx.value(1)) ?? null;
}

export function floatsAttr(node: GraphNode, name: string): readonly number[] | undefined {
  const a = node.attributes.get(name);
  return a && a.kind === 'floats' ? a.value : undefined;
}

/** The dtype an int attribute such as Cast's `to` names; null for 0 or an unknown code. */
export function dtypeAttr(node: GraphNode, name: string): DType | null | undefined {
  const a = node.attributes.get(name);
  if (!a || a.kind !== 'int') return undefined;
  return dtypeFromOnnx(a.value) ?? null;
}

/**
 * The tensor a Constant node holds, from whichever `value*` attribute it has: dtype, dims and (when
 * numeric and small) the elements. undefined for a sparse value or a malformed node.
 */
export function constantAttr(node: GraphNode): { dtype: DType; dims: readonly number[]; known?: KnownValue } | undefined {
  for (const [name, a] of node.attributes) {
    if (name === 'value' && a.kind === 'tensor') return { dtype: a.value.dtype, dims: a.value.dims, known: knownFromTensor(a.value) };
    const list = (dtype: DType, values: readonly number[], dims: readonly number[]) => ({
      dtype,
      dims,
      known: values.length <= FOLD_LIMIT ? { dtype, dims, values: [...values] } : undefined,
    });
    if (name === 'value_float' && a.kind === 'float') return list('float32', [Math.fround(a.value)], []);
    if (name === 'value_floats' && a.kind === 'floats') return list('float32', a.value.map(Math.fround), [a.value.length]);
    if (name === 'value_int' && a.kind === 'int') return list('int64', [a.value], []);
    if (name === 'value_ints' && a.kind === 'ints') return list('int64', a.value, [a.value.length]);
    if (name === 'value_string' && a.kind === 'string') return { dtype: 'string', dims: [] };
    if (name === 'value_strings' && a.kind === 'strings') return { dtype: 'string', dims: [a.value.length] };
  }
  return undefined;
}
