import { elementCount } from '../core/tensor.js';
import { intAttr, type Graph, type GraphNode } from '../core/graph.js';
import type { Plan } from './plan.js';
import { costRate, PRECISIONS, weightLayout, type Precision } from './profile.js';

/**
 * The cost of a plan (DESIGN.md §5, Fix): how much of the model's arithmetic and of its weights
 * runs above INT8. Only the multiply-accumulate ops carry cost here: Conv, ConvTranspose, MatMul
 * and Gemm (other ops' work is small beside them and is not counted).
 *
 * MACs per node (shapes from `shapes`, else from the graph's value info and initializers):
 * | op | MACs |
 * |---|---|
 * | Conv | elements(Y) × C/g × ∏kernel = elements(Y) × ∏W.dims[1:] |
 * | ConvTranspose | elements(X) × M/g × ∏kernel = elements(X) × ∏W.dims[1:] |
 * | MatMul | elements(Y) × K, K the last dim of A (or the second last of B) |
 * | Gemm | M × N × K from A, B and transA/transB |
 * A node whose shapes are unknown counts 0 MACs and is listed in `unknownMacNodes`.
 *
 * Weights are the weight inputs (weightLayout) of those ops that are initializers, counted per
 * consuming node. A weight is above INT8 when the node stores it in more than one byte: int16
 * with the profile's `weights.int16Bits` = 16, fp16, fp32. `weightBytes` is the storage under the
 * plan (int8 1 byte, int16 1 or 2, fp16 2, fp32 4 per parameter); biases are not counted.
 */
export interface PlanCost {
  readonly totalMacs: number;
  /** MACs of nodes whose precision is not int8. */
  readonly macsAboveInt8: number;
  /** macsAboveInt8 / totalMacs (0 when there are no MACs). */
  readonly macShareAboveInt8: number;
  readonly weightParams: number;
  readonly weightParamsAboveInt8: number;
  /** weightParamsAboveInt8 / weightParams (0 when there are no weights). */
  readonly weightShareAboveInt8: number;
  readonly weightBytes: number;
  /** The same weights all stored in INT8: the baseline for weightBytes. */
  readonly weightBytesAllInt8: number;
  readonly byPrecision: Readonly<Record<Precision, { readonly nodes: number; readonly macs: number }>>;
  readonly unknownMacNodes: readonly string[];
  /**
   * With a profile cost table (Profile.cost): Σ MACs × the op's cost per MAC at its precision, the
   * same with every MAC op at INT8, and their ratio.
   */
  readonly device?: { readonly cost: number; readonly allInt8: number; readonly ratio: number };
}

export type Shapes = ReadonlyMap<string, readonly number[]>;

export const MAC_OPS: readonly string[] = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm'];

function shapeOf(graph: Graph, shapes: Shapes, tensor: string | undefined): readonly number[] | null {
  if (tensor === undefined || tensor === '') return null;
  const given = shapes.get(tensor);
  if (given) return given;
  const init = graph.initializers.get(tensor);
  if (init) return init.dims;
  const info = graph.values.get(tensor)?.shape;
  if (info && info.every((d) => typeof d === 'number' && d >= 0)) return info as readonly number[];
  return null;
}

/** Multiply-accumulates of one node (see the table above); 0 for other ops, null when shapes are unknown. */
export function nodeMacs(graph: Graph, node: GraphNode, shapes: Shapes = new Map()): number | null {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return 0;
  const x = shapeOf(graph, shapes, node.inputs[0]);
  const w = shapeOf(graph, shapes, node.inputs[1]);
  const y = shapeOf(graph, shapes, node.outputs[0]);
  switch (node.opType) {
    case 'Conv':
      return y && w ? elementCount(y) * elementCount(w.slice(1)) : null;
    case 'ConvTranspose':
      return x && w ? elementCount(x) * elementCount(w.slice(1)) : null;
    case 'MatMul': {
      const k = x && x.length > 0 ? x[x.length - 1] : w && w.length >= 2 ? w[w.length - 2] : null;
      return y && k !== null ? elementCount(y) * k : null;
    }
    case 'Gemm': {
      if (!x || !w || x.length !== 2 || w.length !== 2) return null;
      const transA = intAttr(node, 'transA', 0) === 1;
      const transB = intAttr(node, 'transB', 0) === 1;
      const m = transA ? x[1] : x[0];
      const k = transA ? x[0] : x[1];
      const n = transB ? w[0] : w[1];
      return m * n * k;
    }
    default:
      return 0;
  }
}

/** Bytes per weight parameter of a node at `precision`. */
export function weightBytesPer(plan: Plan, precision: Precision): number {
  switch (precision) {
    case 'int8':
      return 1;
    case 'a16w8':
      return 1;
    case 'int16':
      return plan.profile.weights.int16Bits / 8;
    case 'fp16':
      return 2;
    case 'fp32':
      return 4;
  }
}

export function planCost(graph: Graph, plan: Plan, shapes: Shapes = new Map()): PlanCost {
  const byPrecision = Object.fromEntries(PRECISIONS.map((p) => [p, { nodes: 0, macs: 0 }])) as Record<
    Precision,
    { nodes: number; macs: number }
  >;
  const unknownMacNodes: string[] = [];
  let totalMacs = 0;
  let macsAboveInt8 = 0;
  let weightParams = 0;
  let weightParamsAboveInt8 = 0;
  let weightBytes = 0;
  const table = plan.profile.cost;
  let deviceCost = 0;
  let deviceAllInt8 = 0;
  for (const node of graph.nodes) {
    const precision = plan.precision.get(node.name) ?? plan.profile.floatOps;
    byPrecision[precision].nodes++;
    if (!MAC_OPS.includes(node.opType)) continue;
    const macs = nodeMacs(graph, node, shapes);
    if (macs === null) {
      unknownMacNodes.push(node.name);
    } else {
      totalMacs += macs;
      byPrecision[precision].macs += macs;
      if (table) {
        deviceCost += macs * costRate(table, node.opType, precision);
        deviceAllInt8 += macs * costRate(table, node.opType, 'int8');
      }
      if (precision !== 'int8') macsAboveInt8 += macs;
    }
    const layout = weightLayout(node);
    const weight = layout ? graph.initializers.get(node.inputs[layout.weight] ?? '') : undefined;
    if (weight) {
      const params = elementCount(weight.dims);
      const bytes = weightBytesPer(plan, precision);
      weightParams += params;
      weightBytes += params * bytes;
      if (bytes > 1) weightParamsAboveInt8 += params;
    }
  }
  return {
    totalMacs,
    macsAboveInt8,
    macShareAboveInt8: totalMacs === 0 ? 0 : macsAboveInt8 / totalMacs,
    weightParams,
    weightParamsAboveInt8,
    weightShareAboveInt8: weightParams === 0 ? 0 : weightParamsAboveInt8 / weightParams,
    weightBytes,
    weightBytesAllInt8: weightParams,
    byPrecision,
    unknownMacNodes,
    ...(table ? { device: { cost: deviceCost, allInt8: deviceAllInt8, ratio: deviceAllInt8 === 0 ? 1 : deviceCost / deviceAllInt8 } } : {}),
  };
}

/**
 * What moving `changes` costs, for ordering fix's candidates: the MACs moved above INT8, or, with
 * a profile cost table, the device cost they add (Σ MACs × (cost at the new precision − cost at
 * the old one)).
 */
export function promotionCost(
  graph: Graph,
  plan: Plan,
  changes: readonly { readonly node: string; readonly from: Precision; readonly to: Precision }[],
  shapes: Shapes = new Map(),
): number {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const table = plan.profile.cost;
  let total = 0;
  for (const c of changes) {
    const node = byName.get(c.node);
    if (!node) continue;
    const macs = nodeMacs(graph, node, shapes) ?? 0;
    total += table ? macs * (costRate(table, node.opType, c.to) - costRate(table, node.opType, c.from)) : macs;
  }
  return total;
}
