import { inferShapes, type InferredValue } from '../src/analysis/shape-inference.js';
import type { DType } from '../src/core/dtype.js';
import { buildGraph, type AttrValue, type Dim, type Graph, type ValueInfo } from '../src/core/graph.js';
import { makeTensor, type Tensor } from '../src/core/tensor.js';

/** Attribute shorthand: integer -> int, other number -> float, number[] -> ints, string -> string. */
export type AttrInput =
  number | string | readonly number[] | readonly string[] | Tensor | { readonly floats: readonly number[] } | { readonly float: number };

export function attrs(o: Readonly<Record<string, AttrInput>> = {}): Map<string, AttrValue> {
  const out = new Map<string, AttrValue>();
  for (const [name, v] of Object.entries(o)) {
    if (typeof v === 'number') out.set(name, Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v });
    else if (typeof v === 'string') out.set(name, { kind: 'string', value: v });
    else if (Array.isArray(v)) {
      out.set(
        name,
        v.length > 0 && v.every((x) => typeof x === 'string')
          ? { kind: 'strings', value: v as string[] }
          : { kind: 'ints', value: v as number[] },
      );
    } else if ('floats' in v) out.set(name, { kind: 'floats', value: v.floats });
    else if ('float' in v) out.set(name, { kind: 'float', value: v.float });
    else out.set(name, { kind: 'tensor', value: v as Tensor });
  }
  return out;
}

export const INT64_MAX = 9223372036854775807n;

export function i64(values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): Tensor {
  return makeTensor('int64', dims, BigInt64Array.from(values.map((v) => BigInt(v))));
}

export function f32(values: readonly number[], dims: readonly number[] = [values.length]): Tensor {
  return makeTensor('float32', dims, Float32Array.from(values));
}

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs?: Readonly<Record<string, AttrInput>>;
  readonly domain?: string;
}

export interface GraphSpec {
  readonly nodes: readonly NodeSpec[];
  readonly inputs?: readonly ValueInfo[];
  /** Initializers with their values. */
  readonly constants?: Readonly<Record<string, Tensor>>;
  readonly valueInfo?: readonly ValueInfo[];
  readonly outputs?: readonly ValueInfo[];
  readonly opset?: number;
}

export function makeGraph(spec: GraphSpec): { graph: Graph; constants: (name: string) => Tensor | undefined } {
  const constants = new Map(Object.entries(spec.constants ?? {}));
  const graph = buildGraph({
    name: 'test',
    nodes: spec.nodes.map((n, i) => ({
      name: `${n.op}_${i}`,
      opType: n.op,
      domain: n.domain ?? '',
      inputs: n.inputs,
      outputs: n.outputs,
      attributes: attrs(n.attrs),
    })),
    inputs: spec.inputs ?? [],
    outputs: spec.outputs ?? [],
    initializers: [...constants].map(([name, t]) => ({ name, dtype: t.dtype, dims: t.dims })),
    valueInfo: spec.valueInfo ?? [],
    opsets: new Map([['', spec.opset ?? 13]]),
  });
  return { graph, constants: (name) => constants.get(name) };
}

/** An input of a single-op test: a float32 shape, a typed shape, a constant, or '' (omitted). */
export type InputSpec = readonly Dim[] | { readonly dtype: DType; readonly shape: readonly Dim[] | null } | Tensor | '';

function isTensor(x: InputSpec): x is Tensor {
  return typeof x === 'object' && 'data' in x;
}

/** Runs inference over one node and returns its outputs' inferred values. */
export function inferOp(
  op: string,
  inputs: readonly InputSpec[],
  attributes: Readonly<Record<string, AttrInput>> = {},
  options: { readonly opset?: number; readonly outputs?: number } = {},
): InferredValue[] {
  const graphInputs: ValueInfo[] = [];
  const constants: Record<string, Tensor> = {};
  const names = inputs.map((spec, i) => {
    if (spec === '') return '';
    const name = `in${i}`;
    if (isTensor(spec)) constants[name] = spec;
    else if (Array.isArray(spec)) graphInputs.push({ name, dtype: 'float32', shape: spec as readonly Dim[] });
    else {
      const typed = spec as { dtype: DType; shape: readonly Dim[] | null };
      graphInputs.push({ name, dtype: typed.dtype, shape: typed.shape ?? undefined });
    }
    return name;
  });
  const outputs = Array.from({ length: options.outputs ?? 1 }, (_, i) => `out${i}`);
  const { graph, constants: lookup } = makeGraph({
    nodes: [{ op, inputs: names, outputs, attrs: attributes }],
    inputs: graphInputs,
    constants,
    opset: options.opset,
  });
  const result = inferShapes(graph, undefined, lookup);
  return outputs.map((o) => result.get(o) as InferredValue);
}

/** The inferred shape of output 0. */
export function shapeOf(
  op: string,
  inputs: readonly InputSpec[],
  attributes: Readonly<Record<string, AttrInput>> = {},
  opset?: number,
): readonly Dim[] | null {
  return inferOp(op, inputs, attributes, { opset })[0].shape;
}
