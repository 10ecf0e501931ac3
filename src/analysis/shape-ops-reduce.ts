import { intAttr } from '../core/graph.js';
import { axesOf, inferred, intsOf, type ShapeRule } from './shape-context.js';
import { normAxes, normAxis, unknownDims } from './shape-dims.js';

const REDUCE = [
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceProd',
  'ReduceSum',
  'ReduceSumSquare',
] as const;

/**
 * Reductions: axes from the attribute (before opset 18, ReduceSum before 13) or input 1; no axes
 * reduces every axis, unless noop_with_empty_axes makes it the identity. keepdims (default 1)
 * leaves the reduced axes as 1. Axes given by an input that is not constant leave the rank known
 * only with keepdims.
 */
const reduce: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const dtype = ctx.input(0).dtype;
  const keep = intAttr(ctx.node, 'keepdims', 1) !== 0;
  const axes = axesOf(ctx);
  if (!x) return inferred(dtype, null);
  if (axes === null) return inferred(dtype, keep ? unknownDims(x.length) : null);
  if (axes.length === 0 && intAttr(ctx.node, 'noop_with_empty_axes', 0) === 1) return ctx.input(0);
  const norm = axes.length === 0 ? x.map((_, i) => i) : normAxes(axes, x.length);
  if (!norm) return inferred(dtype, null);
  return inferred(dtype, keep ? x.map((d, i) => (norm.includes(i) ? 1 : d)) : x.filter((_, i) => !norm.includes(i)));
};

/** ArgMax/ArgMin: int64 indices, `axis` (default 0) reduced or kept as 1. */
const argReduce: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const axis = x ? normAxis(intAttr(ctx.node, 'axis', 0), x.length) : undefined;
  if (!x || axis === undefined) return inferred('int64', null);
  const keep = intAttr(ctx.node, 'keepdims', 1) !== 0;
  return inferred('int64', keep ? x.map((d, i) => (i === axis ? 1 : d)) : x.filter((_, i) => i !== axis));
};

/** TopK: values and int64 indices with the axis dim (default -1) = k (attribute before opset 10, else input 1). */
const topK: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const axis = x ? normAxis(intAttr(ctx.node, 'axis', -1), x.length) : undefined;
  const kAttr = intAttr(ctx.node, 'k', -1);
  const k = kAttr >= 0 ? kAttr : (intsOf(ctx.value(1))?.[0] ?? null);
  const shape = x && axis !== undefined ? x.map((d, i) => (i === axis ? k : d)) : null;
  return [inferred(ctx.input(0).dtype, shape), inferred('int64', shape)];
};

export const reduceRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(REDUCE.map((op) => [op, reduce])),
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topK,
};
