import { InternalError, UserError } from '../core/errors.js';
import type { GraphNode } from '../core/graph.js';
import { makeTensor, toFloat32 } from '../core/tensor.js';
import { roundThroughHalf } from '../core/float16.js';
import { editModel, initializerTensor, type ModelEdit, type OnnxModel } from '../onnx/index.js';
import type { Range } from './calibration-methods.js';
import { fusionGroups, groupByNode, innerTensorSet } from './fusion.js';
import { isQuantizedIn } from './plan.js';
import { activationQuant, activationStorage, isQuantPrecision, type Precision } from './profile.js';
import { QdqEmitter } from './qdq-emitter.js';
import {
  halfKernelNode,
  quantizeKernelNode,
  requireRange,
  type HalfReads,
  type NodeRewriteContext,
  type QuantizedRead,
} from './qdq-node.js';
import { isFloatValue, type QdqInput, type TensorQuantRecord } from './qdq-input.js';
import { NameAllocator } from './qdq-names.js';
import { quantParams, type QuantParams } from './qparams.js';

/**
 * The lowest default-domain opset of a QDQ model: onnxruntime's optimizer turns QDQ patterns into
 * QLinearConv (opset 10) and may add Round (opset 11). Older models are converted to it first.
 */
export const QDQ_MIN_OPSET = 11;

export { isFloatValue, type KnownValue, type QdqInput, type TensorQuantRecord } from './qdq-input.js';

export interface QdqOutput {
  readonly model: OnnxModel;
  readonly records: readonly TensorQuantRecord[];
  /** Things the rewrite could not emulate, in one sentence each (e.g. a reduction of unknown size). */
  readonly notes: readonly string[];
  readonly qdqDomain: '' | 'com.microsoft';
}

function isFloatTensor(input: QdqInput, tensor: string): boolean {
  return isFloatValue(input.graph, input.values, tensor);
}

/**
 * Rewrites a float model into the QDQ model the quant backend runs and `emit` writes
 * (DESIGN.md §4):
 *
 * 1. Storage. Every tensor that leaves a kernel (a fusion group's output, or an ungrouped node's
 *    output) is stored at the kernel's precision: int8/int16 as a Q/DQ pair with its calibrated
 *    per-tensor range, fp16 as a Cast round trip, fp32 untouched. Inner tensors of a group stay
 *    fp32. The producer is renamed to write `<t>__…` and the pair writes `t`, so tensor names, taps
 *    and graph outputs keep the float model's names.
 * 2. Quantized nodes. Each activation input is read at the node's precision: directly when it is
 *    already stored on that grid, else through its own Q/DQ pair (the explicit requantization
 *    where regions of different precision meet). Weights are stored quantized with a
 *    DequantizeLinear (per channel on the output-channel axis, or per tensor, as the profile says).
 *    The bias follows the bias rule of quantizeKernelNode (qdq-node.ts): int32 at s_x·s_w for an
 *    int8 node where it fits, else float32 added to the accumulator by an Add the optimizer cannot
 *    requantize.
 * 3. fp16 float ops. Float activation inputs not already stored in fp16 are rounded through fp16;
 *    float initializers are replaced by fp16-rounded copies. Reductions whose accumulation is fp16
 *    (ReduceMean, GlobalAveragePool) become ReduceSum, the sum rounded through fp16 (so a sum past
 *    65504 becomes infinite, as on the device), then divided by the element count. Partial sums
 *    that overflow and come back are not modelled; other ops' internal accumulation is fp32.
 */
export function buildQdqModel(input: QdqInput): QdqOutput {
  const { graph, plan } = input;
  const opset = graph.opsets.get('') ?? graph.opsets.get('ai.onnx') ?? 1;
  const qdqDomain: '' | 'com.microsoft' = opset >= 21 ? '' : 'com.microsoft';
  const names = new NameAllocator(graph);
  const emit = new QdqEmitter(names, qdqDomain);
  const records: TensorQuantRecord[] = [];
  const notes: string[] = [];
  const nodeContext: NodeRewriteContext = { input, emit, records, notes, opset };

  const groups = fusionGroups(graph, plan, input.taps);
  const groupOf = groupByNode(groups);
  const inner = innerTensorSet(groups);
  const precisionOf = (node: GraphNode): Precision => plan.precision.get(node.name) ?? plan.profile.floatOps;
  const kernelPrecision = (node: GraphNode): Precision => groupOf.get(node.name)?.precision ?? precisionOf(node);

  const newInputs = new Map<string, string[]>();
  const newOutputs = new Map<string, string[]>();
  const inputsOf = (node: GraphNode): string[] => {
    let list = newInputs.get(node.name);
    if (!list) {
      list = [...node.inputs];
      newInputs.set(node.name, list);
    }
    return list;
  };
  const outputsOf = (node: GraphNode): string[] => {
    let list = newOutputs.get(node.name);
    if (!list) {
      list = [...node.outputs];
      newOutputs.set(node.name, list);
    }
    return list;
  };
  const rangeOf = (tensor: string, bits: 8 | 16, node: GraphNode): Range => requireRange(input, tensor, bits, node);

  // 1. Storage precision of every tensor that leaves a kernel.
  const stored = new Map<string, { precision: Precision; params?: QuantParams }>();
  for (const node of graph.nodes) {
    const precision = kernelPrecision(node);
    if (precision === 'fp32') continue;
    node.outputs.forEach((t, k) => {
      if (t === '' || inner.has(t) || !isFloatTensor(input, t)) return;
      const renamed = names.fresh(`${t}__${precision === 'fp16' ? 'fp32' : 'accumulator'}`);
      outputsOf(node)[k] = renamed;
      if (isQuantPrecision(precision)) {
        const aq = activationQuant(plan.profile, precision);
        const range = rangeOf(t, aq.bits, node);
        const p = quantParams(range, aq.bits, aq.symmetric);
        emit.quantizeDequantize(renamed, t, p);
        stored.set(t, { precision, params: p });
        records.push({
          tensor: t,
          kind: 'activation',
          node: node.name,
          bits: p.bits,
          signed: p.signed,
          scale: p.scale,
          zeroPoint: p.zeroPoint,
          axis: null,
          range,
        });
      } else {
        emit.roundThroughHalf(renamed, t);
        stored.set(t, { precision });
        records.push({
          tensor: t,
          kind: 'fp16',
          node: node.name,
          bits: 16,
          signed: true,
          scale: null,
          zeroPoint: null,
          axis: null,
          range: null,
        });
      }
    });
  }

  // 2. Quantized nodes: activation inputs on the node's grid, weights and bias (qdq-node.ts).
  const requantized = new Map<string, QuantizedRead>();
  const replacedWeights = new Set<string>();
  for (const node of graph.nodes) {
    const precision = precisionOf(node);
    if (!isQuantizedIn(plan, node) || !isQuantPrecision(precision)) continue;
    const aq = activationQuant(plan.profile, precision);
    const read = (x: string): QuantizedRead => {
      const s = stored.get(x);
      // a16w8 reads activations on the int16 grid: a tensor stored at int16 (or a16w8) is read as it is.
      const grid = activationStorage(precision);
      if (s && isQuantPrecision(s.precision) && activationStorage(s.precision) === grid && s.params) return { name: x, params: s.params };
      const key = `${x}\u0000${grid}`;
      let rq = requantized.get(key);
      if (!rq) {
        const range = rangeOf(x, aq.bits, node);
        const params = quantParams(range, aq.bits, aq.symmetric);
        rq = { name: emit.fresh(`${x}__${grid}`), params };
        emit.quantizeDequantize(x, rq.name, params);
        requantized.set(key, rq);
        records.push({
          tensor: x,
          kind: 'activation',
          node: node.name,
          bits: params.bits,
          signed: params.signed,
          scale: params.scale,
          zeroPoint: params.zeroPoint,
          axis: null,
          range,
        });
      }
      return rq;
    };
    const io = { inputs: inputsOf(node), outputs: outputsOf(node) };
    for (const w of quantizeKernelNode(nodeContext, node, precision, read, io)) replacedWeights.add(w);
  }

  // 3. Float ops at fp16: their float inputs and constants are fp16 values (qdq-node.ts).
  const halfInputs = new Map<string, string>();
  const halfConstants = new Map<string, string>();
  const removeNodes: string[] = [];
  for (const node of graph.nodes) {
    if (isQuantizedIn(plan, node) || precisionOf(node) !== 'fp16') continue;
    const group = groupOf.get(node.name);
    const reads: HalfReads = {
      constant: (x) => {
        let h = halfConstants.get(x);
        if (!h) {
          const t = initializerTensor(input.model, x);
          h = emit.initializer(`${x}__fp16_values`, makeTensor('float32', t.dims, roundThroughHalf(toFloat32(t))));
          halfConstants.set(x, h);
        }
        return h;
      },
      activation: (x) => {
        if (stored.get(x)?.precision === 'fp16') return x;
        let h = halfInputs.get(x);
        if (!h) {
          h = emit.fresh(`${x}__fp16_input`);
          emit.roundThroughHalf(x, h);
          halfInputs.set(x, h);
        }
        return h;
      },
      inner: (x) => x,
      isInner: (x) => group !== undefined && group.innerTensors.includes(x),
    };
    if (halfKernelNode(nodeContext, node, reads, { inputs: inputsOf(node), outputs: outputsOf(node) })) removeNodes.push(node.name);
  }

  let usedTensors: Set<string> | undefined;
  const edit: ModelEdit = {
    removeNodes,
    setNodeInputs: Object.fromEntries([...newInputs].filter(([n]) => !removeNodes.includes(n))),
    setNodeOutputs: Object.fromEntries([...newOutputs].filter(([n]) => !removeNodes.includes(n))),
    addNodes: emit.nodes,
    setInitializers: emit.initializers,
    removeInitializers: [...replacedWeights, ...halfConstants.keys()].filter((w) => !stillUsed(w)),
    addOutputs: [...(input.outputs ?? input.taps)].filter((t) => !graph.initializers.has(t)),
    opsetImports: qdqDomain === 'com.microsoft' ? { 'com.microsoft': 1 } : {},
  };

  function stillUsed(initializer: string): boolean {
    if (!usedTensors) {
      // Built once: a per-initializer scan of every node is quadratic on large graphs.
      const removed = new Set(removeNodes);
      usedTensors = new Set(graph.outputs.map((o) => o.name));
      for (const node of graph.nodes) {
        if (removed.has(node.name)) continue;
        for (const t of newInputs.get(node.name) ?? node.inputs) usedTensors.add(t);
      }
      for (const n of emit.nodes) for (const t of n.inputs) usedTensors.add(t);
    }
    return usedTensors.has(initializer);
  }

  let model: OnnxModel;
  try {
    model = editModel(input.model, edit);
  } catch (error) {
    if (error instanceof UserError) throw new InternalError(`the QDQ rewrite produced an invalid edit: ${error.message}`, { cause: error });
    throw error;
  }
  return { model, records, notes, qdqDomain };
}
