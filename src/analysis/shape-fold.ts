import { dtypeInfo, type DType } from '../core/dtype.js';
import type { Dim } from '../core/graph.js';
import { intAttr } from '../core/graph.js';
import { elementCount } from '../core/tensor.js';
import {
  constantAttr,
  FOLD_LIMIT,
  intsOf,
  knownFromTensor,
  numbersOf,
  type InferredValue,
  type KnownValue,
  type RuleContext,
} from './shape-context.js';
import { dimProduct, isNum, normAxis } from './shape-dims.js';
import { shapeRange } from './shape-ops-generate.js';
import { sliceAxis, sliceSpec } from './shape-ops-layout.js';

/**
 * Constant folding of the small tensors that feed shapes (Shape -> Gather -> Unsqueeze -> Concat
 * -> Reshape and the like). A fold sees the node and the shape its rule inferred for output 0, and
 * returns output 0's elements, or undefined when an input is not known or the result would exceed
 * FOLD_LIMIT elements. Symbolic dims from Shape pass through data movement and the identity cases
 * of arithmetic (x + 0, x * 1, x / 1); any other arithmetic on them gives a null element.
 */
export type FoldRule = (ctx: RuleContext, out: InferredValue) => KnownValue | undefined;

/** The output dims when every one is a number and the element count is within FOLD_LIMIT. */
function fullDims(out: InferredValue): number[] | undefined {
  const shape = out.shape;
  if (!shape || !shape.every(isNum)) return undefined;
  return elementCount(shape as number[]) <= FOLD_LIMIT ? (shape as number[]) : undefined;
}

/** Stores numbers as the dtype would hold them: float32 rounded, integers truncated, bool 0/1. */
function normalize(dtype: DType, values: readonly Dim[]): Dim[] {
  const info = dtypeInfo(dtype);
  return values.map((v) => {
    if (!isNum(v)) return v;
    if (Number.isNaN(v)) return info.isFloat ? v : null;
    if (dtype === 'bool') return v !== 0 ? 1 : 0;
    if (dtype === 'float32') return Math.fround(v);
    return info.isFloat || !Number.isFinite(v) ? v : Math.trunc(v);
  });
}

function known(dtype: DType | null, dims: readonly number[], values: readonly Dim[]): KnownValue | undefined {
  if (dtype === null || dtype === 'string' || values.length !== elementCount(dims)) return undefined;
  return { dtype, dims, values: normalize(dtype, values) };
}

/** For each output element, the flat index of the input element numpy broadcasting reads. */
function broadcastMap(inDims: readonly number[], outDims: readonly number[]): number[] | undefined {
  const offset = outDims.length - inDims.length;
  if (offset < 0) return undefined;
  const strides: number[] = new Array(outDims.length).fill(0);
  let stride = 1;
  for (let j = outDims.length - 1; j >= offset; j--) {
    const d = inDims[j - offset];
    if (d !== 1 && d !== outDims[j]) return undefined;
    strides[j] = d === 1 ? 0 : stride;
    stride *= d;
  }
  const map: number[] = [];
  for (let flat = 0; flat < elementCount(outDims); flat++) {
    let rest = flat;
    let index = 0;
    for (let j = outDims.length - 1; j >= 0; j--) {
      index += (rest % outDims[j]) * strides[j];
      rest = Math.floor(rest / outDims[j]);
    }
    map.push(index);
  }
  return map;
}

/** Elementwise fold over inputs 0..arity-1 with numpy broadcasting. */
function zip(arity: number, f: (xs: Dim[], dtype: DType) => Dim): FoldRule {
  return (ctx, out) => {
    const dims = fullDims(out);
    if (!dims) return undefined;
    const values: KnownValue[] = [];
    for (let i = 0; i < arity; i++) {
      const v = ctx.value(i);
      if (!v) return undefined;
      values.push(v);
    }
    const maps = values.map((v) => broadcastMap(v.dims, dims));
    if (maps.some((m) => m === undefined)) return undefined;
    const dtype = out.dtype ?? values[0].dtype;
    const operandType = values[arity === 3 ? 1 : 0].dtype;
    const result = (maps[0] as number[]).map((_, flat) =>
      f(
        values.map((v, k) => v.values[(maps[k] as number[])[flat]]),
        operandType,
      ),
    );
    return known(dtype, dims, result);
  };
}

function numeric(f: (a: number, b: number, dtype: DType) => number | null): (xs: Dim[], dtype: DType) => Dim {
  return ([a, b], dtype) => (isNum(a) && isNum(b) ? f(a, b, dtype) : null);
}

const isInt = (dtype: DType) => !dtypeInfo(dtype).isFloat;

const arithmetic: Record<string, (xs: Dim[], dtype: DType) => Dim> = {
  Add: ([a, b]) => (isNum(a) && isNum(b) ? a + b : b === 0 ? a : a === 0 ? b : null),
  Sub: ([a, b]) => (isNum(a) && isNum(b) ? a - b : b === 0 ? a : null),
  Mul: ([a, b]) => (isNum(a) && isNum(b) ? a * b : b === 1 ? a : a === 1 ? b : null),
  // Integer division truncates toward zero, as onnxruntime's C++ kernels do.
  Div: ([a, b], dtype) => (isNum(a) && isNum(b) ? (isInt(dtype) ? (b === 0 ? null : Math.trunc(a / b)) : a / b) : b === 1 ? a : null),
  Max: numeric((a, b) => Math.max(a, b)),
  Min: numeric((a, b) => Math.min(a, b)),
  Equal: ([a, b]) => (isNum(a) && isNum(b) ? Number(a === b) : a !== null && a === b ? 1 : null),
  Less: numeric((a, b) => Number(a < b)),
  Greater: numeric((a, b) => Number(a > b)),
  LessOrEqual: numeric((a, b) => Number(a <= b)),
  GreaterOrEqual: numeric((a, b) => Number(a >= b)),
};

function unary(f: (x: number) => number): FoldRule {
  return zip(1, ([x]) => (isNum(x) ? f(x) : null));
}

/** Data movement that keeps the element order: only the dims change. */
const sameElements: FoldRule = (ctx, out) => {
  const v = ctx.value(0);
  const dims = fullDims(out);
  return v && dims ? known(v.dtype, dims, v.values) : undefined;
};

const gather: FoldRule = (ctx, out) => {
  const data = ctx.value(0);
  const indices = intsOf(ctx.value(1));
  const dims = fullDims(out);
  if (!data || !indices || !dims) return undefined;
  const axis = normAxis(intAttr(ctx.node, 'axis', 0), data.dims.length);
  if (axis === undefined) return undefined;
  const outer = elementCount(data.dims.slice(0, axis));
  const size = data.dims[axis];
  const inner = elementCount(data.dims.slice(axis + 1));
  const values: Dim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices) {
      const k = raw < 0 ? raw + size : raw;
      if (k < 0 || k >= size) return undefined;
      for (let i = 0; i < inner; i++) values.push(data.values[(o * size + k) * inner + i]);
    }
  }
  return known(data.dtype, dims, values);
};

const concat: FoldRule = (ctx, out) => {
  const dims = fullDims(out);
  const parts: KnownValue[] = [];
  for (let i = 0; i < ctx.node.inputs.length; i++) {
    if (!ctx.has(i)) continue;
    const v = ctx.value(i);
    if (!v) return undefined;
    parts.push(v);
  }
  if (!dims || parts.length === 0) return undefined;
  const axis = normAxis(intAttr(ctx.node, 'axis', ctx.opset < 4 ? 1 : 0), dims.length);
  if (axis === undefined || parts.some((p) => p.dims.length !== dims.length)) return undefined;
  const outer = elementCount(dims.slice(0, axis));
  const values: Dim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const slab = elementCount(p.dims.slice(axis));
      values.push(...p.values.slice(o * slab, (o + 1) * slab));
    }
  }
  return known(parts[0].dtype, dims, values);
};

const slice: FoldRule = (ctx, out) => {
  const data = ctx.value(0);
  const dims = fullDims(out);
  if (!data || !dims) return undefined;
  const spec = sliceSpec(ctx, data.dims.length);
  if (spec.kind !== 'known') return undefined;
  const first = data.dims.map(() => 0);
  const steps = data.dims.map(() => 1);
  spec.axes.forEach((a, i) => {
    first[a] = sliceAxis(data.dims[a], spec.starts[i], spec.ends[i], spec.steps[i]).first;
    steps[a] = spec.steps[i];
  });
  const values: Dim[] = [];
  for (let flat = 0; flat < elementCount(dims); flat++) {
    let rest = flat;
    let index = 0;
    let stride = 1;
    for (let j = dims.length - 1; j >= 0; j--) {
      index += (first[j] + (rest % dims[j]) * steps[j]) * stride;
      rest = Math.floor(rest / dims[j]);
      stride *= data.dims[j];
    }
    values.push(data.values[index]);
  }
  return known(data.dtype, dims, values);
};

export const foldRules: Record<string, FoldRule> = {
  Constant: (ctx) => constantAttr(ctx.node)?.known,
  Identity: (ctx) => ctx.value(0),
  Shape: (ctx) => {
    const x = ctx.input(0).shape;
    if (!x) return undefined;
    const [start, end] = shapeRange(ctx.node, x.length);
    return { dtype: 'int64', dims: [end - start], values: x.slice(start, end) };
  },
  Size: (ctx) => {
    const x = ctx.input(0).shape;
    return x ? { dtype: 'int64', dims: [], values: [dimProduct(x)] } : undefined;
  },
  Cast: (ctx, out) => {
    const v = ctx.value(0);
    return v && out.dtype ? known(out.dtype, v.dims, v.values) : undefined;
  },
  Reshape: sameElements,
  Squeeze: sameElements,
  Unsqueeze: sameElements,
  Flatten: sameElements,
  Gather: gather,
  Concat: concat,
  Slice: slice,
  ...Object.fromEntries(Object.entries(arithmetic).map(([op, f]) => [op, zip(2, f)])),
  Where: zip(3, ([c, x, y]) => (isNum(c) ? (c !== 0 ? x : y) : null)),
  Expand: (ctx, out) => {
    const v = ctx.value(0);
    const dims = fullDims(out);
    const map = v && dims ? broadcastMap(v.dims, dims) : undefined;
    return v && dims && map
      ? known(
          v.dtype,
          dims,
          map.map((i) => v.values[i]),
        )
      : undefined;
  },
  Neg: unary((x) => -x),
  Abs: unary(Math.abs),
  Floor: unary(Math.floor),
  Ceil: unary(Math.ceil),
  Sqrt: unary(Math.sqrt),
  Not: unary((x) => Number(x === 0)),
  ConstantOfShape: (ctx, out) => {
    const dims = fullDims(out);
    const attr = ctx.node.attributes.get('value');
    const fill = attr?.kind === 'tensor' ? knownFromTensor(attr.value)?.values[0] : 0;
    return dims && out.dtype && fill !== undefined ? known(out.dtype, dims, new Array<Dim>(elementCount(dims)).fill(fill)) : undefined;
  },
  Range: (ctx, out) => {
    const dims = fullDims(out);
    const [start, , delta] = [0, 1, 2].map((i) => numbersOf(ctx.value(i))?.[0]);
    if (!dims || start === undefined || delta === undefined || !out.dtype) return undefined;
    return known(
      out.dtype,
      dims,
      Array.from({ length: dims[0] }, (_, i) => start + i * delta),
    );
  },
};
