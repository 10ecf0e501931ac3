import type { Graph, GraphNode } from '../core/graph.js';

/**
 * Which tensor of a test model stands for which tensor of a reference model (model against model,
 * or a float model against a quantized ONNX made elsewhere), in this order of precedence:
 *
 * 1. `map`: the user's `--map` (reference name → test name);
 * 2. `dequantized`: in a QDQ model, the output of the DequantizeLinear behind the QuantizeLinear
 *    that reads the reference tensor's name (x → QuantizeLinear → DequantizeLinear → x'), as
 *    onnxruntime's qdq_loss_debug pairs them: the value the quantized model actually computes with;
 * 3. `qoperator`: in a QOperator model, the integer output `<name>_quantized` of a QLinear* op (or a
 *    QuantizeLinear), dequantized with that op's output scale and zero point (both initializers);
 * 4. `name`: the same tensor name in both graphs;
 * 5. `output`: the graph outputs by position, for those not paired otherwise.
 *
 * A reference tensor is paired at most once, and so is a test tensor.
 */
export type PairKind = 'map' | 'dequantized' | 'qoperator' | 'name' | 'output';

export interface TensorPair {
  readonly ref: string;
  readonly test: string;
  readonly kind: PairKind;
  /** For `qoperator`: the initializers holding the output scale and zero point of the test tensor. */
  readonly scale?: string;
  readonly zeroPoint?: string;
}

/** Input indices of the output scale and zero point of onnxruntime's QOperator ops (QuantizeLinear's own too). */
const OUTPUT_QPARAMS: Readonly<Record<string, readonly [number, number]>> = {
  QuantizeLinear: [1, 2],
  QLinearConv: [6, 7],
  QLinearMatMul: [6, 7],
  QLinearAdd: [6, 7],
  QLinearMul: [6, 7],
  QLinearConcat: [0, 1],
  QLinearGlobalAveragePool: [3, 4],
  QLinearAveragePool: [3, 4],
  QLinearLeakyRelu: [3, 4],
  QLinearSigmoid: [3, 4],
  QLinearSoftmax: [3, 4],
  QLinearReduceMean: [3, 4],
};

/** Every tensor a node computes or a graph takes in, in topological order. */
function activations(graph: Graph): string[] {
  const out = graph.inputs.map((i) => i.name);
  for (const n of graph.nodes) for (const o of n.outputs) if (o !== '') out.push(o);
  return out;
}

function consumersOf(graph: Graph): Map<string, GraphNode[]> {
  const map = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (i === '') continue;
      const list = map.get(i);
      if (list) list.push(n);
      else map.set(i, [n]);
    }
  }
  return map;
}

/**
 * The pairs of reference and test tensors (see the module comment). `wanted` limits the
 * reference side (taps); `initializers` says which test names are constants (QOperator scales
 * must be).
 */
export function pairTensors(
  ref: Graph,
  test: Graph,
  options: {
    readonly map?: Readonly<Record<string, string>>;
    readonly wanted?: ReadonlySet<string>;
    readonly initializers?: ReadonlySet<string>;
  } = {},
): TensorPair[] {
  const refNames = activations(ref).filter((t) => options.wanted === undefined || options.wanted.has(t));
  const refSet = new Set(activations(ref));
  const testNames = new Set(activations(test));
  const consumers = consumersOf(test);
  const byRef = new Map<string, TensorPair>();
  const usedTest = new Set<string>();
  const add = (pair: TensorPair): void => {
    if (byRef.has(pair.ref) || usedTest.has(pair.test)) return;
    byRef.set(pair.ref, pair);
    usedTest.add(pair.test);
  };

  for (const [r, t] of Object.entries(options.map ?? {})) {
    if (refSet.has(r) && testNames.has(t) && (options.wanted === undefined || options.wanted.has(r))) add({ ref: r, test: t, kind: 'map' });
  }
  for (const r of refNames) {
    // x -> QuantizeLinear -> DequantizeLinear: the dequantized value.
    const q = (consumers.get(r) ?? []).find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === r);
    const dq = q
      ? (consumers.get(q.outputs[0]) ?? []).find((n) => n.opType === 'DequantizeLinear' && n.inputs[0] === q.outputs[0])
      : undefined;
    if (dq && dq.outputs[0]) add({ ref: r, test: dq.outputs[0], kind: 'dequantized' });
  }
  for (const r of refNames) {
    const quantized = `${r}_quantized`;
    const producer = test.producer.get(quantized);
    const slots = producer ? OUTPUT_QPARAMS[producer.opType] : undefined;
    if (!producer || !slots) continue;
    const scale = producer.inputs[slots[0]];
    const zeroPoint = producer.inputs[slots[1]];
    if (!scale || (options.initializers && !options.initializers.has(scale))) continue;
    if (zeroPoint && options.initializers && !options.initializers.has(zeroPoint)) continue;
    add({ ref: r, test: quantized, kind: 'qoperator', scale, ...(zeroPoint ? { zeroPoint } : {}) });
  }
  for (const r of refNames) if (testNames.has(r)) add({ ref: r, test: r, kind: 'name' });
  ref.outputs.forEach((o, k) => {
    const t = test.outputs[k];
    if (t && (options.wanted === undefined || options.wanted.has(o.name))) add({ ref: o.name, test: t.name, kind: 'output' });
  });
  const order = new Map(activations(ref).map((t, i) => [t, i]));
  return [...byRef.values()].sort((a, b) => (order.get(a.ref) ?? 0) - (order.get(b.ref) ?? 0));
}
