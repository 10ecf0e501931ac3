import type { GraphNode } from '../core/graph.js';
import { intAttr } from '../core/graph.js';
import { constantAttr, inferred, intsOf, numbersOf, type ShapeRule } from './shape-context.js';
import { lengthOf, normAxis, unknownDims } from './shape-dims.js';

/** The [start, end) range of dims Shape returns: opset 15's start/end, negative from the back, clamped. */
export function shapeRange(node: GraphNode, rank: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(intAttr(node, 'start', 0));
  const end = clamp(intAttr(node, 'end', rank));
  return [start, Math.max(start, end)];
}

const shape: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  if (!x) return inferred('int64', [null]);
  const [start, end] = shapeRange(ctx.node, x.length);
  return inferred('int64', [end - start]);
};

/** ConstantOfShape: the shape input's values are the output dims; the type is the `value` tensor's, else float32. */
const constantOfShape: ShapeRule = (ctx) => {
  const value = ctx.node.attributes.get('value');
  const dtype = value?.kind === 'tensor' ? value.value.dtype : 'float32';
  const dims = ctx.value(0)?.values;
  if (dims) return inferred(dtype, dims);
  const k = lengthOf(ctx.input(0).shape);
  return inferred(dtype, k === undefined ? null : unknownDims(k));
};

/** Range: max(ceil((limit - start) / delta), 0) elements when the three scalars are constant. */
const range: ShapeRule = (ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => numbersOf(ctx.value(i))?.[0]);
  const ok = start !== undefined && limit !== undefined && delta !== undefined && delta !== 0;
  return inferred(ctx.input(0).dtype, [ok ? Math.max(Math.ceil((limit - start) / delta), 0) : null]);
};

/** OneHot: the indices' shape with `depth` inserted at `axis` (default -1). */
const oneHot: ShapeRule = (ctx) => {
  const indices = ctx.input(0).shape;
  const depth = intsOf(ctx.value(1))?.[0] ?? null;
  const axis = indices ? normAxis(intAttr(ctx.node, 'axis', -1), indices.length + 1) : undefined;
  if (!indices || axis === undefined) return inferred(ctx.input(2).dtype, null);
  return inferred(ctx.input(2).dtype, [...indices.slice(0, axis), depth, ...indices.slice(axis)]);
};

export const generateRules: Record<string, ShapeRule> = {
  Constant: (ctx) => {
    const c = constantAttr(ctx.node);
    return inferred(c?.dtype, c?.dims);
  },
  Shape: shape,
  Size: () => inferred('int64', []),
  ConstantOfShape: constantOfShape,
  Range: range,
  OneHot: oneHot,
  NonZero: (ctx) => {
    const x = ctx.input(0).shape;
    return inferred('int64', [x ? x.length : null, null]);
  },
};
