import type { Graph, GraphNode } from '../core/graph.js';
import { fusionGroups } from './fusion.js';
import { isQuantizable, isQuantizedIn, type Plan } from './plan.js';
import { isFloatValue, nameList, outputsOf, precisionsInUse, type ExportCommon, type PrecisionMapping } from './plan-export.js';
import { activationQuant, isQuantPrecision, weightLayout, weightQuant, type Precision, type QuantPrecision } from './profile.js';

/**
 * A plan as settings of onnxruntime's static quantizer (`quantize_static`, QDQ format), defined in
 * microsoft/onnxruntime onnxruntime/python/tools/quantization/quantize.py (the `extra_options` list
 * of `quantize_static` and `get_qdq_config`) and tensor_quant_overrides.py
 * (TensorQuantOverridesHelper, which validates the overrides); mixed precision by `convert` came
 * with microsoft/onnxruntime#19925.
 *
 * - `TensorQuantOverrides`: tensor name → list of dicts. One dict without `axis` is per-tensor;
 *   `axis` in the first dict makes it per-channel (initializers only). Keys used here: `quant_type`
 *   (a QuantType name: QInt8, QInt16), `symmetric`, `axis`, and for activations `convert`
 *   (`{quant_type, symmetric, recv_nodes}`): the tensor is quantized at `quant_type` where it is
 *   written, then dequantized and quantized again at the convert type for the `recv_nodes`.
 * - `nodes_to_exclude`: node names left in float.
 *
 * Which tensors get an override. quantscope stores a quantized node's output at the node's
 * activation width and has each quantized reader read its activation inputs at its own width,
 * requantizing where the two differ (qdq-rewrite.ts). So for each activation tensor touched by a
 * quantized node:
 * - written by a quantized node: `quant_type` is the writer's width; readers of the other width
 *   get a `convert` to theirs;
 * - written by a float op or a graph input: `quant_type` is the widest reader's width, and readers
 *   of the narrower width get a `convert` (quantscope quantizes it once per width instead; the
 *   difference is a double rounding for the narrower readers, stated in a note).
 * A tensor whose every touch is 8 bits keeps the defaults and gets no entry. Weights of quantized
 * nodes get an entry when they are not plain per-tensor int8: their width (int16 nodes take the
 * profile's `weights.int16Bits`, a16w8 nodes 8 bits), symmetry and, per-channel, the axis of
 * weightLayout, so onnxruntime's default axes never decide.
 */

export type OrtQuantType = 'QInt8' | 'QInt16';

export interface OrtConvert {
  readonly quant_type: OrtQuantType;
  readonly symmetric?: boolean;
  readonly recv_nodes: readonly string[];
}

export interface OrtTensorOverride {
  readonly quant_type: OrtQuantType;
  readonly symmetric?: boolean;
  readonly axis?: number;
  readonly convert?: OrtConvert;
}

/** The arguments of `quantize_static` (names as in its signature and `extra_options`). */
export interface OrtQuantizeStatic {
  readonly quant_format: 'QDQ';
  readonly activation_type: OrtQuantType;
  readonly weight_type: OrtQuantType;
  readonly per_channel: boolean;
  readonly op_types_to_quantize: readonly string[];
  readonly nodes_to_exclude: readonly string[];
  readonly extra_options: {
    readonly ActivationSymmetric: boolean;
    readonly WeightSymmetric: boolean;
    readonly QuantizeBias: boolean;
    readonly UseQDQContribOps: boolean;
    /** In graph order of first touch; an array of pairs so that integer-like names keep their place. */
    readonly TensorQuantOverrides: readonly (readonly [string, readonly OrtTensorOverride[]])[];
  };
}

export interface OrtExport extends ExportCommon {
  readonly quantizeStatic: OrtQuantizeStatic;
}

function quantType(bits: 8 | 16): OrtQuantType {
  return bits === 16 ? 'QInt16' : 'QInt8';
}

interface Touch {
  readonly node: GraphNode;
  readonly bits: 8 | 16;
  readonly symmetric: boolean;
}

/**
 * The onnxruntime export of a plan. `assigned` holds the node names the model file does not have
 * (onnx/ assignedNodeNames): onnxruntime cannot name those nodes.
 */
export function ortExport(graph: Graph, plan: Plan, assigned: ReadonlySet<string>): OrtExport {
  const profile = plan.profile;
  const notes: string[] = [];
  const writers = new Map<string, Touch>();
  const readers = new Map<string, Touch[]>();
  const order: string[] = [];
  const touch = (t: string): void => {
    if (!writers.has(t) && !readers.has(t)) order.push(t);
  };
  const weights = new Map<string, { override: OrtTensorOverride; nodes: string[] }>();
  const weightConflicts: string[] = [];

  for (const node of graph.nodes) {
    const precision = plan.precision.get(node.name);
    if (!isQuantizedIn(plan, node) || !isQuantPrecision(precision)) continue;
    const aq = activationQuant(profile, precision);
    const layout = weightLayout(node, graph.initializers.get(node.inputs[1] ?? '')?.dims.length);
    node.inputs.forEach((t, k) => {
      if (t === '' || (layout !== null && k === layout.bias)) return;
      if (graph.initializers.has(t)) {
        if (layout !== null && k === layout.weight) addWeight(t, node, precision);
        return;
      }
      if (!isFloatValue(graph, t)) return;
      touch(t);
      const list = readers.get(t) ?? [];
      if (!list.some((r) => r.node === node)) list.push({ node, bits: aq.bits, symmetric: aq.symmetric });
      readers.set(t, list);
    });
    for (const t of outputsOf(node)) {
      if (!isFloatValue(graph, t)) continue;
      touch(t);
      writers.set(t, { node, bits: aq.bits, symmetric: aq.symmetric });
    }
  }

  function addWeight(name: string, node: GraphNode, precision: QuantPrecision): void {
    const info = graph.initializers.get(name);
    if (info?.dtype !== 'float32') return;
    const wq = weightQuant(profile, precision);
    const layout = weightLayout(node, info.dims.length);
    const axis = wq.granularity === 'per-channel' && layout && layout.axis >= 0 && layout.axis < info.dims.length ? layout.axis : null;
    if (wq.bits === 8 && axis === null && precision === 'int8') return;
    const override: OrtTensorOverride = { quant_type: quantType(wq.bits), symmetric: wq.symmetric, ...(axis === null ? {} : { axis }) };
    const seen = weights.get(name);
    if (!seen) {
      weights.set(name, { override, nodes: [node.name] });
      return;
    }
    seen.nodes.push(node.name);
    if (seen.override.quant_type !== override.quant_type || seen.override.axis !== override.axis) {
      // One initializer, two settings: keep the wider one, which serves both nodes at least as well.
      if (override.quant_type === 'QInt16') seen.override = override;
      weightConflicts.push(name);
    }
  }

  const overrides: [string, OrtTensorOverride[]][] = [];
  const unnamedReceivers = new Set<string>();
  const doubleRounded: string[] = [];
  for (const t of order) {
    const w = writers.get(t);
    const rs = readers.get(t) ?? [];
    const widest = rs.reduce<Touch | undefined>((best, r) => (best === undefined || r.bits > best.bits ? r : best), undefined);
    const base = w ?? widest;
    if (!base) continue;
    const others = rs.filter((r) => r.bits !== base.bits);
    if (base.bits === 8 && others.length === 0) continue;
    if (!w && others.length > 0) doubleRounded.push(t);
    const named = others.filter((r) => !assigned.has(r.node.name));
    for (const r of others) if (assigned.has(r.node.name)) unnamedReceivers.add(r.node.name);
    const entry: OrtTensorOverride = {
      quant_type: quantType(base.bits),
      ...(base.bits === 16 ? { symmetric: base.symmetric } : {}),
      ...(named.length > 0
        ? {
            convert: {
              quant_type: quantType(named[0].bits),
              ...(named[0].bits === 16 ? { symmetric: named[0].symmetric } : {}),
              recv_nodes: named.map((r) => r.node.name),
            },
          }
        : {}),
    };
    overrides.push([t, [entry]]);
  }
  for (const [name, w] of weights) overrides.push([name, [w.override]]);

  // Quantized ops planned in float: excluded, so they stay in the model's float type (fp32).
  const excluded = graph.nodes.filter((n) => isQuantizable(profile, n) && !isQuantizedIn(plan, n));
  const exclude = excluded.filter((n) => !assigned.has(n.name)).map((n) => n.name);
  const unnamedExcluded = excluded.filter((n) => assigned.has(n.name)).map((n) => n.name);

  const opset = graph.opsets.get('') ?? graph.opsets.get('ai.onnx') ?? 1;
  const sixteen = overrides.some(([, [d]]) => d.quant_type === 'QInt16' || d.convert?.quant_type === 'QInt16');
  const useContrib = opset < 21 && sixteen;

  const fp16Quantized = excluded.filter((n) => plan.precision.get(n.name) === 'fp16').map((n) => n.name);
  if (fp16Quantized.length > 0) {
    notes.push(
      `quantize_static has no per-node FP16, so ${fp16Quantized.length} node(s) planned fp16 (${nameList(fp16Quantized)}) are in nodes_to_exclude and run in FP32.`,
    );
  }
  const fp16Float = graph.nodes.filter((n) => !isQuantizable(profile, n) && plan.precision.get(n.name) === 'fp16').map((n) => n.name);
  if (fp16Float.length > 0) {
    notes.push(
      `${fp16Float.length} non-quantized node(s) planned fp16 (${nameList(fp16Float)}) run in FP32: quantize_static leaves the ops it does not quantize in the model's float type.`,
    );
  }
  if (unnamedExcluded.length > 0) {
    notes.push(
      `${unnamedExcluded.length} node(s) to exclude have no name in the model file (${nameList(unnamedExcluded)} are quantscope's names), so nodes_to_exclude cannot list them and onnxruntime will quantize them: name them in the model first.`,
    );
  }
  if (unnamedReceivers.size > 0) {
    notes.push(
      `${unnamedReceivers.size} node(s) that need a converted input have no name in the model file (${nameList([...unnamedReceivers])}), so recv_nodes cannot list them and they read the writer's type: name them in the model first.`,
    );
  }
  if (doubleRounded.length > 0) {
    notes.push(
      `${doubleRounded.length} tensor(s) that no quantized node writes are read at 8 and at 16 bits (${nameList(doubleRounded)}): onnxruntime quantizes each once at 16 bits and converts to 8 bits for the 8-bit readers, where quantscope quantizes once per width.`,
    );
  }
  for (const name of weightConflicts) {
    notes.push(`Weight '${name}' is shared by nodes planned at different weight widths; it is quantized once, at the wider one.`);
  }
  const sixteenBitNodes = graph.nodes.filter((n) => {
    const p = plan.precision.get(n.name);
    return isQuantizedIn(plan, n) && isQuantPrecision(p) && p !== 'int8';
  });
  if (sixteenBitNodes.length > 0 && profile.bias === 'int32') {
    notes.push(
      'onnxruntime quantizes the bias of 16-bit nodes to int32 at input scale × weight scale and widens the weight scale where that bias would not fit (QDQDisableWeightAdjustForInt32Bias is off); quantscope adds such a bias in float32, so those nodes can differ slightly.',
    );
  }
  if (useContrib) {
    notes.push(
      `The model is at opset ${opset}, below 21, so UseQDQContribOps is on: the 16-bit Q/DQ use the com.microsoft domain, which onnxruntime runs.`,
    );
  }
  if (fusionGroups(graph, plan).length > 0) {
    notes.push(
      `quantize_static puts Q/DQ on each quantized node's inputs and outputs, while profile '${profile.name}' fuses op chains (${profile.fusion
        .map((f) => f.join('→'))
        .slice(0, 3)
        .join(', ')}...) whose inner tensors quantscope leaves unquantized, so the two models differ at those tensors.`,
    );
  }
  notes.push(
    "onnxruntime calibrates again with the method you pass (MinMax by default): quantscope's calibration ranges are not carried over, so measure the quantized model against the float one before deploying it.",
  );

  const quantizeStatic: OrtQuantizeStatic = {
    quant_format: 'QDQ',
    activation_type: 'QInt8',
    weight_type: 'QInt8',
    per_channel: profile.weights.granularity === 'per-channel',
    op_types_to_quantize: [...profile.quantizedOps],
    nodes_to_exclude: exclude,
    extra_options: {
      ActivationSymmetric: profile.activations.symmetric,
      WeightSymmetric: profile.weights.symmetric,
      QuantizeBias: profile.bias === 'int32',
      UseQDQContribOps: useContrib,
      TensorQuantOverrides: overrides,
    },
  };
  return { quantizeStatic, mapping: ortMapping(plan, excluded), notes };
}

function ortMapping(plan: Plan, excluded: readonly GraphNode[]): PrecisionMapping[] {
  const profile = plan.profile;
  const channel = profile.weights.granularity === 'per-channel' ? ' per-channel' : '';
  const weightText = (p: QuantPrecision): string => `${quantType(weightQuant(profile, p).bits)}${channel} weights`;
  const floatText = (p: Precision): string => {
    const n = excluded.filter((e) => plan.precision.get(e.name) === p).length;
    return n > 0 ? `FP32, not quantized (${n} quantized op(s) in nodes_to_exclude)` : 'FP32, not quantized';
  };
  const text: Record<Precision, Omit<PrecisionMapping, 'precision' | 'nodes'>> = {
    int8: { target: `QInt8 activations, ${weightText('int8')} (the defaults)` },
    a16w8: { target: `QInt16 activations, ${weightText('a16w8')}` },
    int16: { target: `QInt16 activations, ${weightText('int16')}` },
    fp16: { target: floatText('fp16'), why: 'quantize_static has no per-node FP16' },
    fp32: { target: floatText('fp32') },
  };
  return precisionsInUse(plan).map(([precision, nodes]) => ({ precision, nodes, ...text[precision] }));
}
