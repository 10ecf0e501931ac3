import type { DType } from '../core/dtype.js';
import type { Dim, Graph } from '../core/graph.js';
import type { OnnxModel } from '../onnx/index.js';
import type { Range } from './calibration-methods.js';
import type { Plan } from './plan.js';

/*
 * What the QDQ rewrite reads and what it records per tensor, shared by the rewrite
 * (qdq-rewrite.ts), its per-node steps (qdq-node.ts), the shadow graph of own error (shadow.ts)
 * and emit's precision check. It sits below all of them so none imports another in a circle.
 */

/** A tensor's known dtype and shape (what shape inference gives). */
export interface KnownValue {
  readonly dtype: DType | null;
  readonly shape: readonly Dim[] | null;
}

export interface QdqInput {
  readonly model: OnnxModel;
  readonly graph: Graph;
  readonly plan: Plan;
  /** The calibrated range of an activation tensor for the given width. */
  readonly range: (tensor: string, bits: 8 | 16) => Range | undefined;
  /** Tensors that will be read out: each splits a fusion group and is stored at boundary precision. */
  readonly taps: ReadonlySet<string>;
  /**
   * The tensors to make graph outputs (default: the taps). A memory-bounded run keeps every tap
   * as a boundary, so the numbers do not depend on the grouping, but outputs one group at a time:
   * onnxruntime holds every graph output until a run returns, fetched or not.
   */
  readonly outputs?: ReadonlySet<string>;
  /** Inferred dtypes and shapes (for which tensors are float, and reduction sizes). */
  readonly values: ReadonlyMap<string, KnownValue>;
}

/** What was done to one tensor: the quant.json entry of DESIGN.md §6. */
export interface TensorQuantRecord {
  readonly tensor: string;
  readonly kind: 'activation' | 'weight' | 'bias' | 'fp16';
  /** The consumer or producer node that decided the precision. */
  readonly node: string;
  readonly bits: 8 | 16 | 32;
  readonly signed: boolean;
  readonly scale: number | number[] | null;
  readonly zeroPoint: number | number[] | null;
  readonly axis: number | null;
  readonly range: Range | null;
}

/** Op types whose outputs are never float, so fp16 rounding never applies to them. */
const NON_FLOAT_OUTPUT_OPS = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'TopK',
]);

/** Whether the rewrite treats a tensor as float32 (and so quantizes or rounds it). Emit's precision check shares it. */
export function isFloatValue(graph: Graph, values: ReadonlyMap<string, KnownValue>, tensor: string): boolean {
  const dtype = values.get(tensor)?.dtype ?? graph.values.get(tensor)?.dtype;
  if (dtype) return dtype === 'float32';
  const producer = graph.producer.get(tensor);
  if (producer && NON_FLOAT_OUTPUT_OPS.has(producer.opType)) return false;
  // Unknown dtype: a data input (index 0) of a float op is float in every model quantscope targets.
  return true;
}
