import type { Dim } from '../core/graph.js';
import { intAttr, intsAttr } from '../core/graph.js';
import { axesOf, inferred, intsOf, type RuleContext, type ShapeRule } from './shape-context.js';
import {
  addDim,
  broadcastShapes,
  dimProduct,
  isNum,
  lengthOf,
  mergeDim,
  mulDim,
  normAxes,
  normAxis,
  reshapeDims,
  unknownDims,
} from './shape-dims.js';

/*
 * Ops that take their axes, pads or sizes from an attribute in old opsets and from an input in new
 * ones read whichever form the node carries: for a valid model that is the form its opset defines.
 */

/** Reshape: `shape` attribute (opset < 5) or a constant shape input; 0 copies, -1 infers, allowzero keeps 0. */
const reshape: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const target = intsAttr(ctx.node, 'shape') ?? ctx.value(1)?.values;
  if (!target) {
    const k = lengthOf(ctx.input(1).shape);
    return inferred(x.dtype, k === undefined ? null : unknownDims(k));
  }
  return inferred(x.dtype, reshapeDims(x.shape, target, intAttr(ctx.node, 'allowzero', 0) === 1));
};

/** Flatten: [prod(d[0:axis]), prod(d[axis:])], axis in [-r, r], default 1. */
const flatten: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  if (!x) return inferred(ctx.input(0).dtype, null);
  const raw = intAttr(ctx.node, 'axis', 1);
  const axis = raw < 0 ? raw + x.length : raw;
  if (axis < 0 || axis > x.length) return inferred(ctx.input(0).dtype, null);
  return inferred(ctx.input(0).dtype, [dimProduct(x.slice(0, axis)), dimProduct(x.slice(axis))]);
};

const transpose: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  if (!x) return inferred(ctx.input(0).dtype, null);
  const perm = intsAttr(ctx.node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
  const axes = perm.length === x.length ? normAxes(perm, x.length) : undefined;
  return inferred(ctx.input(0).dtype, axes ? axes.map((a) => x[a]) : null);
};

/** Squeeze without axes removes every dim that is 1, which needs every dim known. */
const squeeze: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const axes = axesOf(ctx);
  if (!x || !axes) return inferred(ctx.input(0).dtype, null);
  if (axes.length === 0) return inferred(ctx.input(0).dtype, x.every(isNum) ? x.filter((d) => d !== 1) : null);
  const norm = normAxes(axes, x.length);
  return inferred(ctx.input(0).dtype, norm ? x.filter((_, i) => !norm.includes(i)) : null);
};

/** Unsqueeze: axes index the output, whose rank is r + len(axes). */
const unsqueeze: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const axes = axesOf(ctx);
  if (!x || !axes) return inferred(ctx.input(0).dtype, null);
  const rank = x.length + axes.length;
  const norm = normAxes(axes, rank);
  if (!norm) return inferred(ctx.input(0).dtype, null);
  let j = 0;
  return inferred(
    ctx.input(0).dtype,
    unknownDims(rank).map((_, i) => (norm.includes(i) ? 1 : x[j++])),
  );
};

/** Concat: the axis dims add up, the others must agree; `axis` defaulted to 1 before opset 4. */
const concat: ShapeRule = (ctx) => {
  const shapes: (readonly Dim[] | null)[] = [];
  for (let i = 0; i < ctx.node.inputs.length; i++) if (ctx.has(i)) shapes.push(ctx.input(i).shape);
  const dtype = shapes.length > 0 ? ctx.input(ctx.node.inputs.findIndex((t) => t !== '')).dtype : null;
  const known = shapes.filter((s): s is readonly Dim[] => s !== null);
  if (known.length === 0 || known.some((s) => s.length !== known[0].length)) return inferred(dtype, null);
  const axis = normAxis(intAttr(ctx.node, 'axis', ctx.opset < 4 ? 1 : 0), known[0].length);
  if (axis === undefined) return inferred(dtype, null);
  const along = shapes.map((s) => (s ? s[axis] : null));
  let sum: Dim = along.every(isNum) ? (along as number[]).reduce((a, b) => a + b, 0) : null;
  const others = along.filter((d) => d !== 0);
  if (sum === null && others.length === 1) sum = others[0];
  return inferred(
    dtype,
    known[0].map((_, i) => (i === axis ? sum : known.map((s) => s[i]).reduce(mergeDim))),
  );
};

/**
 * Split along `axis`: sizes from the `split` attribute or input; else opset 18's num_outputs
 * (ceil-sized chunks, the last one smaller); else equal parts, one per output.
 */
const split: ShapeRule = (ctx) => {
  const x = ctx.input(0);
  const count = ctx.node.outputs.length;
  const axis = x.shape ? normAxis(intAttr(ctx.node, 'axis', 0), x.shape.length) : undefined;
  if (!x.shape || axis === undefined) return ctx.node.outputs.map(() => inferred(x.dtype, null));
  const shape = x.shape;
  const dim = shape[axis];
  let parts: readonly Dim[] = intsAttr(ctx.node, 'split') ?? (ctx.has(1) ? (intsOf(ctx.value(1)) ?? []) : []);
  if (parts.length === 0 && !ctx.has(1)) {
    const k = intAttr(ctx.node, 'num_outputs', 0);
    if (k > 0 && isNum(dim)) {
      const chunk = Math.ceil(dim / k);
      parts = unknownDims(k).map((_, i) => (i < k - 1 ? chunk : dim - chunk * (k - 1)));
    } else if (k === 0) {
      parts = unknownDims(count).map(() => (count === 1 ? dim : isNum(dim) && dim % count === 0 ? dim / count : null));
    }
  }
  return ctx.node.outputs.map((_, i) =>
    inferred(
      x.dtype,
      shape.map((d, j) => (j === axis ? (parts[i] ?? null) : d)),
    ),
  );
};

/** Ends at or above this are "to the end" for a symbolic dim (exporters write INT32_MAX or INT64_MAX). */
const TO_END = 2 ** 31 - 1;

/**
 * The first index and element count a slice takes from an axis of length d, with ONNX's clamping
 * of negative, out-of-range and reversed bounds.
 */
export function sliceAxis(d: number, start: number, end: number, step: number): { first: number; count: number } {
  if (d === 0) return { first: 0, count: 0 };
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const s = start < 0 ? start + d : start;
  const e = end < 0 ? end + d : end;
  if (step > 0) {
    const first = clamp(s, 0, d);
    return { first, count: Math.max(0, Math.ceil((clamp(e, 0, d) - first) / step)) };
  }
  const first = clamp(s, 0, d - 1);
  return { first, count: Math.max(0, Math.ceil((first - clamp(e, -1, d - 1)) / -step)) };
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (!isNum(d)) return start === 0 && step === 1 && end >= TO_END ? d : null;
  return sliceAxis(d, start, end, step).count;
}

/** Slice's parameters: attributes starts/ends/axes before opset 10, inputs starts/ends/axes/steps after. */
export type SliceSpec =
  | { readonly kind: 'invalid' }
  | { readonly kind: 'unknown'; readonly axes?: readonly number[] }
  | {
      readonly kind: 'known';
      readonly axes: readonly number[];
      readonly starts: readonly number[];
      readonly ends: readonly number[];
      readonly steps: readonly number[];
    };

export function sliceSpec(ctx: RuleContext, rank: number): SliceSpec {
  const attrForm = ctx.node.attributes.has('starts');
  const starts = attrForm ? intsAttr(ctx.node, 'starts') : intsOf(ctx.value(1));
  const ends = attrForm ? intsAttr(ctx.node, 'ends') : intsOf(ctx.value(2));
  const axesGiven = attrForm ? ctx.node.attributes.has('axes') : ctx.has(3);
  const axesRaw = attrForm ? intsAttr(ctx.node, 'axes') : intsOf(ctx.value(3));
  const steps = !attrForm && ctx.has(4) ? intsOf(ctx.value(4)) : starts?.map(() => 1);
  const axes = axesGiven ? (axesRaw ? normAxes(axesRaw, rank) : undefined) : starts?.map((_, i) => i);
  if (!axes) return { kind: 'unknown' };
  if (!starts || !ends || !steps) return { kind: 'unknown', axes };
  const n = axes.length;
  if (starts.length !== n || ends.length !== n || steps.length !== n || steps.includes(0) || axes.some((a) => a >= rank)) {
    return { kind: 'invalid' };
  }
  return { kind: 'known', axes, starts, ends, steps };
}

const slice: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const dtype = ctx.input(0).dtype;
  if (!x) return inferred(dtype, null);
  const spec = sliceSpec(ctx, x.length);
  if (spec.kind === 'invalid') return inferred(dtype, null);
  if (spec.kind === 'unknown') {
    const axes = spec.axes;
    return inferred(dtype, axes ? x.map((d, i) => (axes.includes(i) ? null : d)) : unknownDims(x.length));
  }
  const out = [...x];
  spec.axes.forEach((a, i) => {
    out[a] = sliceDim(x[a], spec.starts[i], spec.ends[i], spec.steps[i]);
  });
  return inferred(dtype, out);
};

/** Pad: `paddings` (opset 1) or `pads` attribute (2-10), else the pads input with optional axes (18). */
const pad: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const dtype = ctx.input(0).dtype;
  if (!x) return inferred(dtype, null);
  const pads = intsAttr(ctx.node, 'pads') ?? intsAttr(ctx.node, 'paddings') ?? intsOf(ctx.value(1));
  const axesRaw = ctx.has(3) ? intsOf(ctx.value(3)) : x.map((_, i) => i);
  const axes = axesRaw ? normAxes(axesRaw, x.length) : undefined;
  if (!pads || !axes) return inferred(dtype, unknownDims(x.length));
  if (pads.length !== 2 * axes.length) return inferred(dtype, null);
  const out = [...x];
  axes.forEach((a, i) => {
    out[a] = addDim(x[a], pads[i] + pads[i + axes.length]);
  });
  return inferred(dtype, out);
};

/** Gather: data[:axis] + indices + data[axis+1:]. */
const gather: ShapeRule = (ctx) => {
  const data = ctx.input(0).shape;
  const indices = ctx.input(1).shape;
  const axis = data ? normAxis(intAttr(ctx.node, 'axis', 0), data.length) : undefined;
  if (!data || !indices || axis === undefined) return inferred(ctx.input(0).dtype, null);
  return inferred(ctx.input(0).dtype, [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)]);
};

/** GatherND: indices[:-1] + data[batch_dims + indices[-1]:]. */
const gatherND: ShapeRule = (ctx) => {
  const data = ctx.input(0).shape;
  const indices = ctx.input(1).shape;
  const last = indices?.[indices.length - 1];
  if (!data || !indices || !isNum(last)) return inferred(ctx.input(0).dtype, null);
  const from = intAttr(ctx.node, 'batch_dims', 0) + last;
  return inferred(ctx.input(0).dtype, from <= data.length ? [...indices.slice(0, -1), ...data.slice(from)] : null);
};

/** Expand: numpy broadcasting of the input against the shape input. */
const expand: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const target = ctx.value(1)?.values;
  const k = lengthOf(ctx.input(1).shape);
  const shape = target ?? (k === undefined ? null : unknownDims(k));
  return inferred(ctx.input(0).dtype, shape ? broadcastShapes([x, shape]) : null);
};

const tile: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const repeats = intsOf(ctx.value(1));
  if (!x) return inferred(ctx.input(0).dtype, null);
  if (!repeats || repeats.length !== x.length) return inferred(ctx.input(0).dtype, unknownDims(x.length));
  return inferred(
    ctx.input(0).dtype,
    x.map((d, i) => mulDim(d, repeats[i])),
  );
};

/**
 * Crop (old IR, NCHW): border = [left, top, right, bottom]; with `scale` = [height, width] the
 * output is that size from the top-left border, else the input minus the borders.
 */
const crop: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const border = intsAttr(ctx.node, 'border');
  const scale = intsAttr(ctx.node, 'scale');
  if (!x || x.length !== 4) return inferred(ctx.input(0).dtype, null);
  if (!border || border.length !== 4) return inferred(ctx.input(0).dtype, [x[0], x[1], null, null]);
  const [left, top, right, bottom] = border;
  const useScale = scale !== undefined && scale.length === 2;
  const h = useScale ? scale[0] : addDim(x[2], -(top + bottom));
  const w = useScale ? scale[1] : addDim(x[3], -(left + right));
  return inferred(ctx.input(0).dtype, [x[0], x[1], h, w]);
};

export const layoutRules: Record<string, ShapeRule> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Gather: gather,
  GatherElements: (ctx) => inferred(ctx.input(0).dtype, ctx.input(1).shape),
  GatherND: gatherND,
  Expand: expand,
  Tile: tile,
  Crop: crop,
};
