import type { Dim, GraphNode } from '../core/graph.js';
import { intAttr, intsAttr, stringAttr } from '../core/graph.js';
import { inferred, type InferredValue, type RuleContext, type ShapeRule } from './shape-context.js';
import { broadcastShapes, isNum, mulDim, unknownDims } from './shape-dims.js';

/** Sliding-window attributes of Conv and the pools, checked against the spatial rank. */
interface Window {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly pads: readonly number[];
  readonly autoPad: string;
  readonly ceil: boolean;
}

function windowOf(node: GraphNode, kernel: readonly number[] | undefined, n: number): Window | undefined {
  if (!kernel || kernel.length !== n || kernel.some((k) => k < 1)) return undefined;
  const strides = intsAttr(node, 'strides') ?? kernel.map(() => 1);
  const dilations = intsAttr(node, 'dilations') ?? kernel.map(() => 1);
  const pads = intsAttr(node, 'pads') ?? [...kernel.map(() => 0), ...kernel.map(() => 0)];
  if (strides.length !== n || dilations.length !== n || pads.length !== 2 * n) return undefined;
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) return undefined;
  return { kernel, strides, dilations, pads, autoPad: stringAttr(node, 'auto_pad', 'NOTSET'), ceil: intAttr(node, 'ceil_mode', 0) === 1 };
}

/**
 * One spatial output dim of a convolution or pool (ONNX Conv/MaxPool docs):
 * NOTSET: floor((in + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1, ceil instead of floor with
 * ceil_mode, dropping a last window that would start inside the end padding (as PyTorch and
 * onnxruntime do); SAME_UPPER/SAME_LOWER: ceil(in / s); VALID: the NOTSET formula with no pads.
 */
function windowDim(input: Dim, w: Window, i: number): Dim {
  if (!isNum(input)) return null;
  const n = w.kernel.length;
  const s = w.strides[i];
  if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return Math.ceil(input / s);
  const [begin, end] = w.autoPad === 'VALID' ? [0, 0] : [w.pads[i], w.pads[i + n]];
  const span = input + begin + end - ((w.kernel[i] - 1) * w.dilations[i] + 1);
  if (span < 0) return null;
  let out = (w.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (w.ceil && (out - 1) * s >= input + begin) out -= 1;
  return out;
}

function numericTail(shape: readonly Dim[] | null, from: number): number[] | undefined {
  if (!shape) return undefined;
  const tail = shape.slice(from);
  return tail.every(isNum) ? (tail as number[]) : undefined;
}

/** [N, M, spatial...] for X [N, C, spatial...] and W [M, C/group, k...]. */
function convShape(node: GraphNode, x: readonly Dim[] | null, w: readonly Dim[] | null): Dim[] | null {
  const rank = x?.length ?? w?.length;
  if (rank === undefined || rank < 3) return null;
  const n = rank - 2;
  const win = windowOf(node, intsAttr(node, 'kernel_shape') ?? numericTail(w, 2), n);
  const spatial = unknownDims(n).map((_, i) => (win && x ? windowDim(x[i + 2], win, i) : null));
  return [x?.[0] ?? null, w?.[0] ?? null, ...spatial];
}

/**
 * ConvTranspose: channels W[1] * group; spatial from `output_shape` when given (spatial dims only,
 * as onnxruntime requires), else s * (in - 1) + output_padding + ((k - 1) * d + 1) - pad_begin - pad_end;
 * with SAME_* the total padding is max(0, that sum without pads - in * s), as onnxruntime computes it.
 */
const convTranspose: ShapeRule = (ctx) => {
  const { node } = ctx;
  const x = ctx.input(0).shape;
  const w = ctx.input(1).shape;
  const rank = x?.length ?? w?.length;
  if (rank === undefined || rank < 3) return inferred(ctx.input(0).dtype, null);
  const n = rank - 2;
  const channels = w ? mulDim(w[1] ?? null, intAttr(node, 'group', 1)) : null;
  const explicit = intsAttr(node, 'output_shape');
  let spatial: Dim[];
  if (explicit) {
    spatial = explicit.length === n ? [...explicit] : unknownDims(n);
  } else {
    const win = windowOf(node, intsAttr(node, 'kernel_shape') ?? numericTail(w, 2), n);
    const outPad = intsAttr(node, 'output_padding') ?? unknownDims(n).map(() => 0);
    spatial = unknownDims(n).map((_, i) => {
      const input = x?.[i + 2];
      if (!win || !isNum(input) || outPad.length !== n) return null;
      const s = win.strides[i];
      const total = s * (input - 1) + outPad[i] + (win.kernel[i] - 1) * win.dilations[i] + 1;
      if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') return total - Math.max(0, total - input * s);
      if (win.autoPad === 'VALID') return total;
      return total - win.pads[i] - win.pads[i + n];
    });
  }
  return inferred(ctx.input(0).dtype, [x?.[0] ?? null, channels, ...spatial]);
};

function pool(ctx: RuleContext): InferredValue {
  const x = ctx.input(0).shape;
  if (!x || x.length < 3) return inferred(ctx.input(0).dtype, null);
  const win = windowOf(ctx.node, intsAttr(ctx.node, 'kernel_shape'), x.length - 2);
  return inferred(
    ctx.input(0).dtype,
    x.map((d, i) => (i < 2 ? d : win ? windowDim(d, win, i - 2) : null)),
  );
}

const globalPool: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  return inferred(ctx.input(0).dtype, x && x.length >= 2 ? x.map((d, i) => (i < 2 ? d : 1)) : null);
};

/** Gemm: A [M, K] (or [K, M] with transA) times B [K, N] (or [N, K] with transB) gives [M, N]. */
const gemm: ShapeRule = (ctx) => {
  const a = ctx.input(0).shape;
  const b = ctx.input(1).shape;
  const m = a?.length === 2 ? a[intAttr(ctx.node, 'transA', 0) ? 1 : 0] : null;
  const n = b?.length === 2 ? b[intAttr(ctx.node, 'transB', 0) ? 0 : 1] : null;
  return inferred(ctx.input(0).dtype, [m, n]);
};

/**
 * numpy.matmul: a 1-D A is [1, K] and a 1-D B is [K, 1], the added dim is removed from the result;
 * the batch dims broadcast.
 */
function matmulShape(a: readonly Dim[] | null, b: readonly Dim[] | null): Dim[] | null {
  if (!a || !b || a.length === 0 || b.length === 0) return null;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return null;
  return [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
}

/** LSTM/GRU/RNN outputs Y [seq, dirs, batch, hidden] and Y_h (Y_c) [dirs, batch, hidden]; layout 1 puts batch first. */
function recurrent(ctx: RuleContext): InferredValue[] {
  const x = ctx.input(0).shape;
  const r = ctx.input(2).shape;
  const batchFirst = intAttr(ctx.node, 'layout', 0) === 1;
  const dirs = stringAttr(ctx.node, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
  const hiddenAttr = intAttr(ctx.node, 'hidden_size', 0);
  const hidden = hiddenAttr > 0 ? hiddenAttr : r?.length === 3 ? r[2] : null;
  const seq = x?.length === 3 ? x[batchFirst ? 1 : 0] : null;
  const batch = x?.length === 3 ? x[batchFirst ? 0 : 1] : null;
  const dtype = ctx.input(0).dtype;
  const y = inferred(dtype, batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden]);
  const state = inferred(dtype, batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden]);
  return [y, state, state];
}

function blockRule(toSpace: boolean): ShapeRule {
  return (ctx) => {
    const x = ctx.input(0).shape;
    const b = intAttr(ctx.node, 'blocksize', 0);
    if (!x || x.length !== 4 || b < 1) return inferred(ctx.input(0).dtype, null);
    const div = (d: Dim, k: number): Dim => (k === 1 ? d : isNum(d) && d % k === 0 ? d / k : null);
    const [n, c, h, w] = x;
    const shape = toSpace ? [n, div(c, b * b), mulDim(h, b), mulDim(w, b)] : [n, mulDim(c, b * b), div(h, b), div(w, b)];
    return inferred(ctx.input(0).dtype, shape);
  };
}

export const nnRules: Record<string, ShapeRule> = {
  Conv: (ctx) => inferred(ctx.input(0).dtype, convShape(ctx.node, ctx.input(0).shape, ctx.input(1).shape)),
  ConvInteger: (ctx) => inferred('int32', convShape(ctx.node, ctx.input(0).shape, ctx.input(1).shape)),
  QLinearConv: (ctx) => inferred(ctx.input(7).dtype ?? ctx.input(0).dtype, convShape(ctx.node, ctx.input(0).shape, ctx.input(3).shape)),
  ConvTranspose: convTranspose,
  MaxPool: (ctx) => {
    const y = pool(ctx);
    return [y, inferred('int64', y.shape)];
  },
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: (ctx) => inferred(ctx.input(0).dtype, matmulShape(ctx.input(0).shape, ctx.input(1).shape)),
  MatMulInteger: (ctx) => inferred('int32', matmulShape(ctx.input(0).shape, ctx.input(1).shape)),
  QLinearMatMul: (ctx) => inferred(ctx.input(7).dtype ?? ctx.input(0).dtype, matmulShape(ctx.input(0).shape, ctx.input(3).shape)),
  LSTM: recurrent,
  GRU: (ctx) => recurrent(ctx).slice(0, 2),
  RNN: (ctx) => recurrent(ctx).slice(0, 2),
  DepthToSpace: blockRule(true),
  SpaceToDepth: blockRule(false),
  RoiAlign: (ctx) => {
    const x = ctx.input(0).shape;
    const rois = ctx.input(1).shape;
    const h = intAttr(ctx.node, 'output_height', 1);
    const w = intAttr(ctx.node, 'output_width', 1);
    return inferred(ctx.input(0).dtype, [rois?.[0] ?? null, x?.[1] ?? null, h, w]);
  },
  GridSample: (ctx) => {
    const x = ctx.input(0).shape;
    const grid = ctx.input(1).shape;
    if (!x || !grid || x.length !== grid.length || x.length < 3) return inferred(ctx.input(0).dtype, null);
    return inferred(ctx.input(0).dtype, [x[0], x[1], ...grid.slice(1, -1)]);
  },
  // Einsum's output follows its equation; not inferred.
  Einsum: (ctx) => inferred(ctx.input(0).dtype, null),
};
