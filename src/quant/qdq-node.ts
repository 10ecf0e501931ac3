import { intAttr, intsAttr, type GraphNode } from '../core/graph.js';
import { makeTensor, toFloat32 } from '../core/tensor.js';
import { initializerTensor } from '../onnx/index.js';
import { weightLayout, weightQuant } from './profile.js';
import type { QdqEmitter } from './qdq-emitter.js';
import type { QdqInput, TensorQuantRecord } from './qdq-rewrite.js';
import {
  biasSafeWeightScales, perChannelWeightParams, perTensorWeightParams, quantizeBias, quantizeTensor,
  type PerChannelParams, type QuantParams,
} from './qparams.js';

/**
 * Per-node pieces of the QDQ rewrite, shared by the QDQ model (qdq-rewrite.ts) and the own-error
 * shadow graph (shadow.ts), so both apply exactly the same quantization to a node.
 */

/** What a node rewrite reads and appends to. */
export interface NodeRewriteContext {
  readonly input: Pick<QdqInput, 'model' | 'graph' | 'plan' | 'values'>;
  readonly emit: QdqEmitter;
  readonly records: TensorQuantRecord[];
  readonly notes: string[];
  /** The model's default-domain opset. */
  readonly opset: number;
}

/**
 * Stores a quantized node's weight initializer quantized, read through a DequantizeLinear
 * (per channel on the layout's axis, or per tensor, as the profile says), and its bias as int32
 * with scale input_scale × weight_scale when the profile asks for it (int8 Conv, ConvTranspose and
 * Gemm with a 1-D bias only; int16 nodes keep a float bias). Rewrites `inputs` in place and returns
 * the initializers it replaced. Does nothing for a weight that is an activation or not float32.
 */
export function quantizeNodeWeights(
  ctx: NodeRewriteContext, node: GraphNode, precision: 'int8' | 'int16', inputScale: number | null, inputs: string[],
): string[] {
  const { graph, plan, model } = ctx.input;
  const weightRank = graph.initializers.get(node.inputs[1] ?? '')?.dims.length;
  const layout = weightLayout(node, weightRank);
  if (!layout) return [];
  const replaced: string[] = [];
  const wName = node.inputs[layout.weight];
  // A MatMul/Gemm of two activations: both were quantized as activations.
  if (!wName || !graph.initializers.has(wName)) return replaced;
  const w = initializerTensor(model, wName);
  if (w.dtype !== 'float32') return replaced;
  const wq = weightQuant(plan.profile, precision);
  const axis = layout.axis >= 0 && layout.axis < w.dims.length ? layout.axis : -1;
  let wp: QuantParams | PerChannelParams = wq.granularity === 'per-channel' && axis >= 0
    ? perChannelWeightParams(w, axis, wq.bits, wq.symmetric)
    : perTensorWeightParams(w, wq.bits, wq.symmetric);
  const bName = layout.bias !== null ? node.inputs[layout.bias] : undefined;
  const bias = bName && graph.initializers.has(bName) ? initializerTensor(model, bName) : undefined;
  const int32Bias = plan.profile.bias === 'int32' && precision === 'int8' && bias !== undefined && bias.dtype === 'float32'
    && inputScale !== null && (node.opType === 'Conv' || node.opType === 'ConvTranspose' || (node.opType === 'Gemm' && bias.dims.length === 1));
  if (int32Bias && bias) {
    const scales = 'scales' in wp ? wp.scales : Float32Array.of(wp.scale);
    const safe = biasSafeWeightScales(toFloat32(bias), inputScale as number, scales);
    wp = 'scales' in wp ? { ...wp, scales: safe } : { ...wp, scale: safe[0] };
  }
  const wq8 = quantizeTensor(w, wp);
  inputs[layout.weight] = ctx.emit.dequantizeInitializer(`${wName}__${precision}`, wq8, wp);
  replaced.push(wName);
  ctx.records.push({
    tensor: wName, kind: 'weight', node: node.name, bits: wp.bits, signed: wp.signed,
    scale: 'scales' in wp ? [...wp.scales] : wp.scale, zeroPoint: 'scales' in wp ? [...wp.zeroPoints] : wp.zeroPoint,
    axis: 'scales' in wp ? wp.axis : null, range: null,
  });
  if (int32Bias && bias && bName && layout.bias !== null) {
    const scales = 'scales' in wp ? wp.scales : Float32Array.of(wp.scale);
    const qb = quantizeBias(toFloat32(bias), inputScale as number, scales);
    const perChannel = 'scales' in wp;
    inputs[layout.bias] = ctx.emit.dequantizeInitializer(`${bName}__int32`, makeTensor('int32', bias.dims, qb.values),
      { scales: perChannel ? qb.scales : Float32Array.of(qb.scales[0]), axis: perChannel ? 0 : null, int32: true });
    replaced.push(bName);
    ctx.records.push({ tensor: bName, kind: 'bias', node: node.name, bits: 32, signed: true, scale: perChannel ? [...qb.scales] : qb.scales[0], zeroPoint: 0, axis: perChannel ? 0 : null, range: null });
  }
  return replaced;
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
    const inputAxes = node.inputs[1] && graph.initializers.has(node.inputs[1]) ? [...toFloat32(initializerTensor(model, node.inputs[1]))] : undefined;
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
