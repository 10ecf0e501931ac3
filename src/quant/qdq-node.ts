import { floatAttr, intAttr, intsAttr, type GraphNode } from '../core/graph.js';
import { makeTensor, toFloat32 } from '../core/tensor.js';
import { initializerTensor } from '../onnx/index.js';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Range } from './calibration-methods.js';
import { REDUCTION_OPS, weightLayout, weightQuant, type QuantPrecision } from './profile.js';
import type { QdqEmitter } from './qdq-emitter.js';
import { isFloatValue, type QdqInput, type TensorQuantRecord } from './qdq-input.js';
import {
  biasFitsInt32,
  perChannelWeightParams,
  perTensorWeightParams,
  quantizeBias,
  quantizeTensor,
  type PerChannelParams,
  type QuantParams,
} from './qparams.js';

/**
 * Per-node pieces of the QDQ rewrite, shared by the QDQ model (qdq-rewrite.ts) and the own-error
 * shadow graph (shadow.ts), so both apply exactly the same quantization to a node.
 */

/** What a node rewrite reads and appends to. */
export interface NodeRewriteContext {
  readonly input: Pick<QdqInput, 'model' | 'graph' | 'plan' | 'values' | 'range'>;
  readonly emit: QdqEmitter;
  readonly records: TensorQuantRecord[];
  readonly notes: string[];
  /** The model's default-domain opset. */
  readonly opset: number;
}

/** How a quantized node reads one activation input: the Q/DQ'd tensor and its parameters. */
export interface QuantizedRead {
  readonly name: string;
  readonly params: QuantParams;
}

/**
 * The one kernel-quantization step (DESIGN.md §4): what a node planned int8/int16 computes, used
 * by the QDQ model (qdq-rewrite.ts), the own-error shadow graph (shadow.ts) and so by emit, so
 * there is one definition of "this node at this precision". Rewrites `io` in place:
 *
 * - every activation input k (not an initializer, not the bias) is read through `read(x, k)`,
 *   which returns the tensor on the node's grid (stored there already, or behind a Q/DQ pair);
 * - a float32 weight initializer is stored quantized behind a DequantizeLinear (per channel on
 *   the layout's axis, or per tensor, as the profile says);
 * - the bias rule. A device adds the bias in its accumulator. An int8 node of a profile with an
 *   int32 bias stores it as int32 at scale s_x·s_w when every value fits (Conv, ConvTranspose,
 *   and Gemm with a 1-D bias): onnxruntime's fused integer kernels then add exactly that. Every
 *   other float bias (an int16 node, a bias that int32 cannot hold at that scale, a profile with a
 *   float bias) stays float32 and is added to the kernel's output by an Add before the output is
 *   stored. It cannot stay on the node: onnxruntime's optimizer fuses DequantizeLinear→Conv→
 *   QuantizeLinear into an integer kernel and quantizes a float bias to int32 at s_x·s_w on its
 *   own, which saturates int16 biases (2^31·s_x·s_w can be below 0.1). With the Add in between,
 *   the Conv's output no longer feeds a QuantizeLinear, so the optimizer leaves it a float Conv
 *   over dequantized values: what the plan says, at every optimization level.
 *
 * Returns the initializers it replaced.
 */
export function quantizeKernelNode(
  ctx: NodeRewriteContext,
  node: GraphNode,
  precision: QuantPrecision,
  read: (x: string, k: number) => QuantizedRead,
  io: { inputs: string[]; outputs: string[] },
): string[] {
  const { graph, plan, model } = ctx.input;
  const layout = weightLayout(node, graph.initializers.get(node.inputs[1] ?? '')?.dims.length);
  let inputScale: number | null = null;
  node.inputs.forEach((x, k) => {
    if (x === '' || graph.initializers.has(x) || (layout !== null && k === layout.bias)) return;
    const q = read(x, k);
    io.inputs[k] = q.name;
    if (k === 0) inputScale = q.params.scale;
  });
  if (!layout) return [];
  const replaced: string[] = [];
  const wName = node.inputs[layout.weight];
  // A MatMul/Gemm of two activations: both were quantized as activations.
  if (!wName || !graph.initializers.has(wName)) return replaced;
  const w = initializerTensor(model, wName);
  if (w.dtype !== 'float32') return replaced;
  const wq = weightQuant(plan.profile, precision);
  const axis = layout.axis >= 0 && layout.axis < w.dims.length ? layout.axis : -1;
  const wp: QuantParams | PerChannelParams =
    wq.granularity === 'per-channel' && axis >= 0
      ? perChannelWeightParams(w, axis, wq.bits, wq.symmetric)
      : perTensorWeightParams(w, wq.bits, wq.symmetric);
  io.inputs[layout.weight] = ctx.emit.dequantizeInitializer(`${wName}__${precision}`, quantizeTensor(w, wp), wp);
  replaced.push(wName);
  ctx.records.push({
    tensor: wName,
    kind: 'weight',
    node: node.name,
    bits: wp.bits,
    signed: wp.signed,
    scale: 'scales' in wp ? [...wp.scales] : wp.scale,
    zeroPoint: 'scales' in wp ? [...wp.zeroPoints] : wp.zeroPoint,
    axis: 'scales' in wp ? wp.axis : null,
    range: null,
  });

  const bName = layout.bias !== null ? node.inputs[layout.bias] : undefined;
  if (!bName || layout.bias === null || !graph.initializers.has(bName)) return replaced;
  const bias = initializerTensor(model, bName);
  if (bias.dtype !== 'float32') return replaced;
  const values = toFloat32(bias);
  const weightScales = 'scales' in wp ? wp.scales : Float32Array.of(wp.scale);
  const int32Capable = node.opType === 'Conv' || node.opType === 'ConvTranspose' || (node.opType === 'Gemm' && bias.dims.length === 1);
  if (
    plan.profile.bias === 'int32' &&
    precision === 'int8' &&
    inputScale !== null &&
    int32Capable &&
    biasFitsInt32(values, inputScale, weightScales)
  ) {
    const qb = quantizeBias(values, inputScale, weightScales);
    const perChannel = 'scales' in wp;
    io.inputs[layout.bias] = ctx.emit.dequantizeInitializer(`${bName}__int32`, makeTensor('int32', bias.dims, qb.values), {
      scales: perChannel ? qb.scales : Float32Array.of(qb.scales[0]),
      axis: perChannel ? 0 : null,
      int32: true,
    });
    replaced.push(bName);
    ctx.records.push({
      tensor: bName,
      kind: 'bias',
      node: node.name,
      bits: 32,
      signed: true,
      scale: perChannel ? [...qb.scales] : qb.scales[0],
      zeroPoint: 0,
      axis: perChannel ? 0 : null,
      range: null,
    });
    return replaced;
  }
  const added = accumulatorBias(node, bias.dims, values, w.dims.length, ctx.opset);
  if (!added) return replaced;
  const out = io.outputs[0];
  const beforeBias = ctx.emit.fresh(`${node.outputs[0]}__before_bias`);
  const biasName = ctx.emit.initializer(`${bName}__accumulator`, makeTensor('float32', added.dims, added.values));
  io.inputs.length = layout.bias;
  io.outputs[0] = beforeBias;
  ctx.emit.node('Add', [beforeBias, biasName], [out]);
  replaced.push(bName);
  ctx.records.push({
    tensor: bName,
    kind: 'bias',
    node: node.name,
    bits: 32,
    signed: true,
    scale: null,
    zeroPoint: null,
    axis: null,
    range: null,
  });
  return replaced;
}

/**
 * The float bias as an Add operand on the node's output: [1, C, 1, …] for Conv and ConvTranspose
 * (output rank = weight rank), beta·C for Gemm. Null where the bias must stay on the node: the
 * bias is the node's last input only, and Gemm's C is optional only from opset 11.
 */
function accumulatorBias(
  node: GraphNode,
  dims: readonly number[],
  values: Float32Array,
  weightRank: number,
  opset: number,
): { dims: number[]; values: Float32Array } | null {
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
    if (dims.length !== 1 || node.inputs.length !== 3) return null;
    return { dims: [1, dims[0], ...new Array<number>(Math.max(0, weightRank - 2)).fill(1)], values };
  }
  if (node.opType === 'Gemm') {
    if (opset < 11 || node.inputs.length !== 3) return null;
    const beta = floatAttr(node, 'beta', 1);
    return { dims: [...dims], values: beta === 1 ? values : values.map((v) => Math.fround(v * beta)) };
  }
  return null;
}

/** The calibrated range of an activation that `node` quantizes, or a user error naming both. */
export function requireRange(input: Pick<QdqInput, 'range'>, tensor: string, bits: 8 | 16, node: GraphNode): Range {
  const r = input.range(tensor, bits);
  if (!r)
    throw new UserError(
      `The calibration has no range for tensor '${displayName(tensor)}', which node '${displayName(node.name)}' quantizes; calibrate again for this model and profile.`,
    );
  return r;
}

/** How a float op at fp16 reads its inputs (the QDQ model and the shadow graph differ only here). */
export interface HalfReads {
  /** The fp16-rounded copy of a float32 initializer. */
  readonly constant: (initializer: string) => string;
  /** A float activation from outside the node's fused group, as fp16. */
  readonly activation: (x: string) => string;
  /** A tensor inner to the node's fused group (accumulator precision, not rounded). */
  readonly inner: (x: string) => string;
  readonly isInner: (x: string) => boolean;
}

/**
 * The fp16 step of a float op planned fp16, the other half of "this node at this precision":
 * float32 constants rounded through fp16, float activation inputs read as fp16 except tensors
 * inner to its fused group, and a mean-like reduction accumulated in fp16 when the profile says
 * so (emulateHalfReduction, writing `io.outputs[0]`). Rewrites `io.inputs` in place; returns
 * true when the reduction replaced the node (which is then not emitted).
 */
export function halfKernelNode(
  ctx: NodeRewriteContext,
  node: GraphNode,
  reads: HalfReads,
  io: { inputs: string[]; outputs: string[] },
): boolean {
  const { graph, plan, values } = ctx.input;
  node.inputs.forEach((x, k) => {
    if (x === '') return;
    const init = graph.initializers.get(x);
    if (init) {
      if (init.dtype === 'float32') io.inputs[k] = reads.constant(x);
      return;
    }
    if (reads.isInner(x)) io.inputs[k] = reads.inner(x);
    else if (isFloatValue(graph, values, x)) io.inputs[k] = reads.activation(x);
  });
  if (plan.profile.reduceAccumulation === 'fp16' && REDUCTION_OPS.includes(node.opType) && node.opType !== 'ReduceSum') {
    return emulateHalfReduction(ctx, node, io.inputs, io.outputs[0]);
  }
  return false;
}

/**
 * Emulates an fp16 accumulation of a mean-like reduction (ReduceMean, GlobalAveragePool): a
 * ReduceSum of `inputs[0]`, the sum rounded through fp16 (a sum past 65504 becomes infinite), then
 * divided by the element count, written to `output`. Returns false, leaving the node alone (only
 * its result is rounded), when the input shape or the axes are not known before running, or when
 * the reduction is a no-op.
 */
export function emulateHalfReduction(ctx: NodeRewriteContext, node: GraphNode, inputs: readonly string[], output: string): boolean {
  const { graph, model, values } = ctx.input;
  const { emit, notes, opset } = ctx;
  const shape = values.get(node.inputs[0])?.shape;
  if (!shape || shape.some((d) => typeof d !== 'number')) {
    notes.push(`The fp16 accumulation of '${node.name}' is not emulated because its input shape is unknown; only its result is rounded.`);
    return false;
  }
  const dims = shape as number[];
  let axes: number[];
  if (node.opType === 'GlobalAveragePool') {
    axes = dims.map((_, i) => i).slice(2);
  } else {
    const attrAxes = intsAttr(node, 'axes');
    const inputAxes =
      node.inputs[1] && graph.initializers.has(node.inputs[1]) ? [...toFloat32(initializerTensor(model, node.inputs[1]))] : undefined;
    if (node.inputs[1] && !inputAxes) {
      notes.push(`The fp16 accumulation of '${node.name}' is not emulated because its axes are computed at run time.`);
      return false;
    }
    axes = (inputAxes ?? attrAxes ?? dims.map((_, i) => i)).map((a) => (a < 0 ? a + dims.length : a));
    if (axes.length === 0 && intAttr(node, 'noop_with_empty_axes', 0) === 1) return false;
  }
  const keepdims = node.opType === 'GlobalAveragePool' ? 1 : intAttr(node, 'keepdims', 1);
  const count = axes.reduce((n, a) => n * dims[a], 1);
  const sum = emit.fresh(`${output}__sum`);
  if (opset >= 13) {
    const axesInit = emit.initializer(`${node.name}__axes`, makeTensor('int64', [axes.length], BigInt64Array.from(axes.map(BigInt))));
    emit.node('ReduceSum', [inputs[0], axesInit], [sum], { keepdims: { kind: 'int', value: keepdims } });
  } else {
    emit.node('ReduceSum', [inputs[0]], [sum], { axes: { kind: 'ints', value: axes }, keepdims: { kind: 'int', value: keepdims } });
  }
  const sumHalf = emit.fresh(`${output}__sum_fp16`);
  emit.roundThroughHalf(sum, sumHalf);
  const n = emit.initializer(`${node.name}__count`, makeTensor('float32', [], Float32Array.of(count)));
  emit.node('Div', [sumHalf, n], [output]);
  return true;
}
