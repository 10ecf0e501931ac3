import { displayName } from '../core/closest.js';
import type { AttrValue, GraphNode } from '../core/graph.js';
import { makeTensor, toFloat32 } from '../core/tensor.js';
import { roundThroughHalf } from '../core/float16.js';
import { editModel, initializerTensor, type OnnxModel } from '../onnx/index.js';
import type { Range } from './calibration-methods.js';
import { fusionGroups, groupByNode, innerTensorSet, type FusionGroup } from './fusion.js';
import { isQuantizedIn } from './plan.js';
import { activationQuant, activationStorage, isQuantPrecision, type Precision, type QuantPrecision } from './profile.js';
import { QdqEmitter } from './qdq-emitter.js';
import { NameAllocator } from './qdq-names.js';
import { halfKernelNode, quantizeKernelNode, requireRange, type HalfReads, type NodeRewriteContext } from './qdq-node.js';
import { isFloatValue, type QdqInput, type TensorQuantRecord } from './qdq-input.js';
import { quantParams, type QuantParams } from './qparams.js';

/**
 * The own-error shadow graph (DESIGN.md §5). Own error is the difference at a tensor when only
 * its producing kernel runs quantized and its inputs are the float reference values. The shadow
 * graph holds the float graph unchanged plus, for each kernel under study, a clone that reads the
 * float tensors and applies that kernel's quantization exactly as the QDQ model does:
 *
 * - a quantized node (int8/int16) reads each activation input through a Q/DQ pair at its precision
 *   (scale from the input's calibrated range), its weights quantized and its bias as the profile
 *   says (the same helpers as the QDQ rewrite, qdq-node.ts);
 * - a float op at fp16 reads its float inputs and constants rounded through fp16, and a mean-like
 *   reduction accumulates in fp16 when the profile says so;
 * - the kernel's output is stored at the kernel's precision: Q/DQ with the tensor's calibrated
 *   range for int8/int16, a round trip through fp16 for fp16.
 *
 * A kernel is the fusion group (after splitting at the run's taps, as in the QDQ model) up to the
 * tensor's producer, or the producer alone. Inside a group, inner tensors stay at accumulator
 * precision, so a clone of a group chains its nodes' clones. A tensor whose kernel runs entirely
 * at fp32 has no own error (it is the float value: 'exact'); so has a graph input.
 *
 * One execution of the shadow model yields every studied tensor's own output.
 */

export interface ShadowInput extends Omit<QdqInput, 'taps'> {
  /** The taps of the run being explained: they split fusion groups exactly as in its QDQ model. */
  readonly taps: ReadonlySet<string>;
  /** The tensors whose own output is wanted. */
  readonly tensors: readonly string[];
  /**
   * Make the own outputs the model's only outputs and drop the float nodes they do not depend on
   * (onnxruntime runs every node of a graph, needed or not), so a shadow model for the first
   * layers costs only those layers.
   */
  readonly prune?: boolean;
}

export type OwnSource =
  /** The shadow model's tensor that holds the own output. */
  | { readonly kind: 'shadow'; readonly tensor: string }
  /** The tensor's kernel runs in fp32 without quantization (or it is a graph input): own = float. */
  | { readonly kind: 'exact' }
  /** The clone cannot be built; the reason in one sentence. */
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface ShadowOutput {
  /**
   * The float model plus the clones; the own outputs are graph outputs only when pruned (add them
   * to fetch them). The float model itself when no wanted tensor needs a clone.
   */
  readonly model: OnnxModel;
  readonly own: ReadonlyMap<string, OwnSource>;
  /** Quantization the clones could not emulate, one sentence each. */
  readonly notes: readonly string[];
  readonly qdqDomain: '' | 'com.microsoft';
}

/** How the quant model stores a tensor that leaves a kernel: int8, int16 or fp16 (fp32 tensors are absent). */
export interface StorageInput {
  readonly graph: ShadowInput['graph'];
  readonly plan: ShadowInput['plan'];
  readonly taps: ReadonlySet<string>;
  readonly values: ShadowInput['values'];
}

/**
 * The storage precision of every float tensor that leaves a kernel at a precision other than
 * fp32, as buildQdqModel applies it for these taps: the kernel's precision (the fusion group's,
 * or the node's own). Inner tensors of a fusion group and non-float tensors are absent.
 */
export function storagePrecisions(input: StorageInput): Map<string, 'int8' | 'int16' | 'fp16'> {
  const { graph, plan } = input;
  const groups = fusionGroups(graph, plan, input.taps);
  const groupOf = groupByNode(groups);
  const inner = innerTensorSet(groups);
  const out = new Map<string, 'int8' | 'int16' | 'fp16'>();
  for (const node of graph.nodes) {
    const precision = groupOf.get(node.name)?.precision ?? plan.precision.get(node.name) ?? plan.profile.floatOps;
    if (precision === 'fp32') continue;
    for (const t of node.outputs) {
      if (t !== '' && !inner.has(t) && isFloatValue(graph, input.values, t))
        out.set(t, isQuantPrecision(precision) ? activationStorage(precision) : precision);
    }
  }
  return out;
}

/** Builds the shadow model for the wanted tensors (see the module comment). */
export function buildShadowModel(input: ShadowInput): ShadowOutput {
  const { graph, plan } = input;
  const opset = graph.opsets.get('') ?? graph.opsets.get('ai.onnx') ?? 1;
  const qdqDomain: '' | 'com.microsoft' = opset >= 21 ? '' : 'com.microsoft';
  const emit = new QdqEmitter(new NameAllocator(graph), qdqDomain);
  const records: TensorQuantRecord[] = [];
  const notes: string[] = [];
  const context: NodeRewriteContext = { input, emit, records, notes, opset };

  const groups = fusionGroups(graph, plan, input.taps);
  const groupOf = groupByNode(groups);
  const inner = innerTensorSet(groups);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const precisionOf = (node: GraphNode): Precision => plan.precision.get(node.name) ?? plan.profile.floatOps;
  const kernelPrecision = (node: GraphNode): Precision => groupOf.get(node.name)?.precision ?? precisionOf(node);
  const isFloat = (t: string): boolean => isFloatValue(graph, input.values, t);
  const rangeOf = (tensor: string, bits: 8 | 16, node: GraphNode): Range => requireRange(input, tensor, bits, node);

  /** The clone's value of each tensor a cloned node wrote: the stored value (own output) or, for an inner tensor, the accumulator value. */
  const cloned = new Map<string, string>();
  const clonedNodes = new Set<string>();
  const quantizedInputs = new Map<string, string>();
  const halfInputs = new Map<string, string>();
  const halfConstants = new Map<string, string>();

  const quantizeInput = (
    source: string,
    tensor: string,
    precision: QuantPrecision,
    node: GraphNode,
  ): { name: string; params: QuantParams } => {
    const aq = activationQuant(plan.profile, precision);
    const range = rangeOf(tensor, aq.bits, node);
    const params = quantParams(range, aq.bits, aq.symmetric);
    const key = `${source}\u0000${precision}`;
    let name = quantizedInputs.get(key);
    if (!name) {
      name = emit.fresh(`${tensor}__own_${precision}`);
      emit.quantizeDequantize(source, name, params);
      quantizedInputs.set(key, name);
    }
    return { name, params };
  };

  const halfInput = (source: string): string => {
    let h = halfInputs.get(source);
    if (!h) {
      h = emit.fresh(`${source}__own_fp16`);
      emit.roundThroughHalf(source, h);
      halfInputs.set(source, h);
    }
    return h;
  };

  const halfConstant = (initializer: string): string => {
    let h = halfConstants.get(initializer);
    if (!h) {
      const t = initializerTensor(input.model, initializer);
      h = emit.initializer(`${initializer}__own_fp16_values`, makeTensor('float32', t.dims, roundThroughHalf(toFloat32(t))));
      halfConstants.set(initializer, h);
    }
    return h;
  };

  /** Where a clone reads tensor x: the previous clone's accumulator value inside a group, else the float tensor. */
  const sourceOf = (x: string): string => (inner.has(x) ? (cloned.get(x) ?? x) : x);

  function cloneNode(node: GraphNode): void {
    if (clonedNodes.has(node.name)) return;
    clonedNodes.add(node.name);
    const precision = precisionOf(node);
    const inputs = [...node.inputs];
    let replacedByReduction = false;
    const raw = node.outputs.map((o) => (o === '' ? '' : emit.fresh(`${o}__own_kernel`)));
    /** What the node itself writes: raw, except where the bias is added to its output after it. */
    const kernelOutputs = [...raw];

    if (isQuantizedIn(plan, node) && isQuantPrecision(precision)) {
      const io = { inputs, outputs: kernelOutputs };
      quantizeKernelNode(context, node, precision, (x) => quantizeInput(sourceOf(x), x, precision, node), io);
    } else if (precision === 'fp16') {
      const reads: HalfReads = { constant: halfConstant, activation: halfInput, inner: sourceOf, isInner: (x) => inner.has(x) };
      replacedByReduction = halfKernelNode(context, node, reads, { inputs, outputs: raw });
    } else {
      node.inputs.forEach((x, k) => {
        if (x !== '') inputs[k] = sourceOf(x);
      });
    }
    if (!replacedByReduction)
      emit.node(node.opType, inputs, kernelOutputs, Object.fromEntries(node.attributes) as Record<string, AttrValue>, node.domain);

    const storage = kernelPrecision(node);
    node.outputs.forEach((o, k) => {
      if (o === '') return;
      if (inner.has(o) || storage === 'fp32' || !isFloat(o)) {
        cloned.set(o, raw[k]);
        return;
      }
      const own = emit.fresh(`${o}__own`);
      if (isQuantPrecision(storage)) {
        const aq = activationQuant(plan.profile, storage);
        emit.quantizeDequantize(raw[k], own, quantParams(rangeOf(o, aq.bits, node), aq.bits, aq.symmetric));
      } else {
        emit.roundThroughHalf(raw[k], own);
      }
      cloned.set(o, own);
    });
  }

  const kernelOf = (node: GraphNode): GraphNode[] => {
    const group: FusionGroup | undefined = groupOf.get(node.name);
    if (!group) return [node];
    return group.nodes.slice(0, group.nodes.indexOf(node.name) + 1).map((n) => byName.get(n) as GraphNode);
  };

  const own = new Map<string, OwnSource>();
  for (const t of input.tensors) {
    if (own.has(t)) continue;
    const producer = graph.producer.get(t);
    if (!producer) {
      own.set(t, { kind: 'exact' });
      continue;
    }
    const kernel = kernelOf(producer);
    if (kernel.every((n) => precisionOf(n) === 'fp32')) {
      own.set(t, { kind: 'exact' });
      continue;
    }
    const opaque = kernel.find((n) => [...n.attributes.values()].some((a) => a.kind === 'graph' || a.kind === 'other'));
    if (opaque) {
      own.set(t, {
        kind: 'unavailable',
        reason: `Node '${displayName(opaque.name)}' (${opaque.opType}) has an attribute the shadow graph cannot copy (a subgraph), so its own error is not measured.`,
      });
      continue;
    }
    for (const n of kernel) cloneNode(n);
    own.set(t, { kind: 'shadow', tensor: cloned.get(t) as string });
  }

  const ownTensors = [...own.values()].flatMap((o) => (o.kind === 'shadow' ? [o.tensor] : []));
  const needed = input.prune ? floatNodesReadBy(emit.nodes) : null;
  const removeNodes = needed ? graph.nodes.filter((n) => !needed.has(n.name)).map((n) => n.name) : [];
  const model =
    ownTensors.length === 0
      ? input.model
      : editModel(input.model, {
          removeNodes,
          addNodes: emit.nodes,
          setInitializers: emit.initializers,
          ...(input.prune ? { setOutputs: ownTensors } : {}),
          opsetImports: qdqDomain === 'com.microsoft' ? { 'com.microsoft': 1 } : {},
        });

  /** The float graph's nodes that the clones depend on: producers of what they read, and their ancestors. */
  function floatNodesReadBy(clones: readonly { inputs: readonly string[] }[]): Set<string> {
    const needed = new Set<string>();
    const stack = clones.flatMap((c) => c.inputs.filter((t) => graph.producer.has(t)));
    while (stack.length > 0) {
      const node = graph.producer.get(stack.pop() as string);
      if (!node || needed.has(node.name)) continue;
      needed.add(node.name);
      for (const t of node.inputs) if (t !== '' && !needed.has(graph.producer.get(t)?.name ?? '')) stack.push(t);
    }
    return needed;
  }
  return { model, own, notes, qdqDomain };
}
