import { displayName } from '../core/closest.js';
import type { AttrValue, Graph, GraphNode } from '../core/graph.js';
import { fusionGroups, groupByNode, innerTensorSet } from './fusion.js';
import { isQuantizedIn, type Plan } from './plan.js';
import { activationStorage, isQuantPrecision, REDUCTION_OPS, weightLayout, weightQuant, type Precision } from './profile.js';
import { isFloatValue, type KnownValue } from './qdq-rewrite.js';

/**
 * The precision check of an emitted model: a pure function that reads the written graph back and
 * derives, from its structure alone, what each of the source model's nodes computes, then
 * compares that with what the plan asks for (DESIGN.md §6: "checks that every node's precision in
 * the graph is the planned one").
 *
 * How a value's format is read off the written graph (`formatOf`):
 * - produced by a DequantizeLinear: `int8` or `int16` from the type of its zero point (int8/uint8,
 *   int16/uint16; without a zero point, the quantized input's type), `int32` for an int32 bias;
 * - produced by Cast(to float) of Cast(to float16): `fp16` (the fp16 storage emulation);
 * - anything else: `fp32`.
 *
 * What the plan implies (the rules the QDQ rewrite follows, quant/qdq-rewrite.ts), per source node:
 * - a node planned `int8`/`int16` reads every float activation input at that format, and its
 *   float32 weight through a DequantizeLinear of the profile's weight width for that precision;
 * - a float op planned `fp16` reads every float activation input as `fp16`, except the tensors
 *   inner to its fusion group, which stay raw (`fp32`, accumulator precision);
 * - a float op planned `fp32` reads each input exactly as it is stored (it adds no rounding);
 * - every float output is stored at the node's kernel precision (its fusion group's precision
 *   when fused, else its own), except a group's inner tensors, which are not stored at all;
 * - a reduction planned `fp16` under a profile that accumulates in fp16 is replaced by a
 *   ReduceSum whose sum is rounded through fp16 before the division; when the rewrite could not
 *   emulate it (unknown shape), the original node remaining is accepted.
 * Tensor and node names are the contract: the rewrite keeps every source node's name and every
 * source tensor's name for the value consumers read.
 *
 * - a quantized node's bias is read by the node (int32 through a DequantizeLinear) or added to its
 *   output by an Add of a constant (the float bias kept in the accumulator).
 * Not checked here: the values of fp16-rounded float constants and of the bias (the graph view
 * has no data). The output comparison in emit-verify.ts covers values.
 */

export type ValueFormat = 'int8' | 'int16' | 'int32' | 'fp16' | 'fp32' | 'other';

export interface PrecisionCheckInput {
  /** The float model's graph, whose node names the plan uses. */
  readonly source: Graph;
  readonly plan: Plan;
  /** The graph read back from the written file. */
  readonly written: Graph;
  /** Inferred dtypes of the source tensors (which tensors are float). */
  readonly values: ReadonlyMap<string, KnownValue>;
  /** Taps the model was built with (they split fusion groups); none for an emitted model. */
  readonly taps?: ReadonlySet<string>;
}

export interface NodeCheck {
  readonly node: string;
  readonly opType: string;
  readonly planned: Precision;
  /**
   * What the written graph shows the node computing: the format of its quantized inputs for a
   * quantized op, of its stored output for a float op; `fused` when its output is internal to a
   * fusion group and its inputs show nothing more; `missing` when the node is not in the graph.
   */
  readonly found: ValueFormat | 'fused' | 'missing';
  /** Each disagreement with the plan, as a phrase. Empty when the node is as planned. */
  readonly problems: readonly string[];
}

export interface PrecisionCheck {
  readonly nodes: readonly NodeCheck[];
  /** Domains of the Q/DQ operators in the written graph. */
  readonly qdqDomains: readonly string[];
  /** One sentence per problem (node problems and wrong Q/DQ domains); empty when all is as planned. */
  readonly mismatches: readonly string[];
}

const FLOAT = 1;
const FLOAT16 = 10;

function isQdqOp(node: GraphNode, op: 'QuantizeLinear' | 'DequantizeLinear'): boolean {
  return node.opType === op && (node.domain === '' || node.domain === 'ai.onnx' || node.domain === 'com.microsoft');
}

function castTo(node: GraphNode | undefined, to: number): node is GraphNode {
  const attr: AttrValue | undefined = node?.attributes.get('to');
  return node !== undefined && node.opType === 'Cast' && attr?.kind === 'int' && attr.value === to;
}

function dtypeOf(graph: Graph, tensor: string | undefined): string | undefined {
  if (tensor === undefined || tensor === '') return undefined;
  return graph.initializers.get(tensor)?.dtype ?? graph.values.get(tensor)?.dtype;
}

function formatOfIntType(dtype: string | undefined): ValueFormat {
  switch (dtype) {
    case 'int8':
    case 'uint8':
      return 'int8';
    case 'int16':
    case 'uint16':
      return 'int16';
    case 'int32':
      return 'int32';
    default:
      return 'other';
  }
}

/** The integer type a DequantizeLinear reads: its zero point's type, else its input's. */
function dequantizedType(graph: Graph, dq: GraphNode): string | undefined {
  const zp = dtypeOf(graph, dq.inputs[2]);
  if (zp) return zp;
  const x = dq.inputs[0];
  const direct = dtypeOf(graph, x);
  if (direct) return direct;
  const q = graph.producer.get(x);
  if (q && isQdqOp(q, 'QuantizeLinear')) return dtypeOf(graph, q.inputs[2]) ?? 'uint8';
  return undefined;
}

/** The format of a value as the written graph produces it (see the module comment). */
export function formatOf(written: Graph, tensor: string): ValueFormat {
  const producer = written.producer.get(tensor);
  if (!producer) return 'fp32';
  if (isQdqOp(producer, 'DequantizeLinear')) return formatOfIntType(dequantizedType(written, producer));
  if (castTo(producer, FLOAT) && castTo(written.producer.get(producer.inputs[0]), FLOAT16)) return 'fp16';
  return 'fp32';
}

/** The value a stored tensor was made from: the input of its Q/DQ pair or Cast round trip, else itself. */
function unstored(written: Graph, tensor: string): string {
  const producer = written.producer.get(tensor);
  if (!producer) return tensor;
  if (isQdqOp(producer, 'DequantizeLinear')) {
    const q = written.producer.get(producer.inputs[0]);
    return q && isQdqOp(q, 'QuantizeLinear') ? q.inputs[0] : tensor;
  }
  if (castTo(producer, FLOAT)) {
    const inner = written.producer.get(producer.inputs[0]);
    if (castTo(inner, FLOAT16)) return inner.inputs[0];
  }
  return tensor;
}

/**
 * The ReduceSum of an emulated fp16-accumulating reduction whose result is `tensor`:
 * tensor = [storage of] Div(round-through-fp16(ReduceSum(x)), count).
 */
function emulatedReduction(written: Graph, tensor: string): GraphNode | undefined {
  const div = written.producer.get(unstored(written, tensor));
  if (!div || div.opType !== 'Div' || formatOf(written, div.inputs[0]) !== 'fp16') return undefined;
  const sum = written.producer.get(unstored(written, div.inputs[0]));
  return sum?.opType === 'ReduceSum' ? sum : undefined;
}

/**
 * The bias rule of quant/qdq-node.ts, read back: a quantized node's bias is either an input it
 * reads (int32 through a DequantizeLinear, or a float it keeps) or gone from the node and added
 * to its output by an Add of a constant, before the output is stored.
 */
function biasProblem(written: Graph, computing: GraphNode, bias: string | undefined): string | undefined {
  if (bias !== undefined && bias !== '') return undefined;
  const out = computing.outputs[0];
  const adds = (written.consumers.get(out) ?? []).filter((c) => c.opType === 'Add');
  const constant = adds.some((a) => a.inputs.some((t) => t !== out && written.initializers.has(t)));
  return constant ? undefined : 'its bias is neither read by the node nor added to its output';
}

export function checkPrecisions(input: PrecisionCheckInput): PrecisionCheck {
  const { source, plan, written } = input;
  const profile = plan.profile;
  const groups = fusionGroups(source, plan, input.taps ?? new Set());
  const groupOf = groupByNode(groups);
  const inner = innerTensorSet(groups);
  const writtenByName = new Map(written.nodes.map((n) => [n.name, n]));
  const precisionOf = (n: GraphNode): Precision => plan.precision.get(n.name) ?? profile.floatOps;
  const kernelPrecision = (n: GraphNode): Precision => groupOf.get(n.name)?.precision ?? precisionOf(n);
  const isFloat = (t: string): boolean => isFloatValue(source, input.values, t);
  /** How the plan stores a source tensor: graph inputs and initializers as given, inner tensors raw. */
  const plannedStorage = (t: string): ValueFormat => {
    const producer = source.producer.get(t);
    if (!producer || inner.has(t) || !isFloat(t)) return 'fp32';
    const k = kernelPrecision(producer);
    return isQuantPrecision(k) ? activationStorage(k) : k;
  };

  const nodes: NodeCheck[] = [];
  for (const node of source.nodes) {
    const planned = precisionOf(node);
    const problems: string[] = [];
    const quantPrecision = isQuantizedIn(plan, node) && isQuantPrecision(planned) ? planned : null;
    const quantized = quantPrecision !== null;
    const group = groupOf.get(node.name);

    // Storage of every float output.
    let stored: ValueFormat | undefined;
    for (const t of node.outputs) {
      if (t === '' || !isFloat(t)) continue;
      const expected = plannedStorage(t);
      const actual = formatOf(written, t);
      if (!inner.has(t)) stored ??= actual;
      if (actual !== expected) {
        problems.push(
          inner.has(t)
            ? `its output '${displayName(t)}' inside a fused group is stored as ${actual} instead of staying at accumulator precision`
            : `its output '${displayName(t)}' is stored as ${actual}, not ${expected}`,
        );
      }
    }

    // The node itself, or the ReduceSum that replaced an fp16-accumulating reduction.
    let computing = writtenByName.get(node.name);
    let readInputs: readonly number[] = node.inputs.map((_, k) => k);
    if (!computing) {
      const out = node.outputs.find((o) => o !== '');
      const emulated =
        planned === 'fp16' && profile.reduceAccumulation === 'fp16' && REDUCTION_OPS.includes(node.opType) && out !== undefined
          ? emulatedReduction(written, out)
          : undefined;
      if (!emulated) {
        nodes.push({
          node: node.name,
          opType: node.opType,
          planned,
          found: 'missing',
          problems: ['it is missing from the written graph', ...problems],
        });
        continue;
      }
      computing = emulated;
      readInputs = [0];
    } else if (computing.opType !== node.opType || computing.domain !== node.domain) {
      problems.push(`it became a ${computing.opType} in the written graph`);
    }

    // Reads.
    const layout = quantized ? weightLayout(node, source.initializers.get(node.inputs[1] ?? '')?.dims.length) : null;
    const activationReads: ValueFormat[] = [];
    /** Reads of tensors from outside the node's fusion group. */
    const outerReads: ValueFormat[] = [];
    for (const k of readInputs) {
      const x = node.inputs[k];
      const w = computing.inputs[k];
      if (x === '' || x === undefined) continue;
      if (quantized && layout && k === layout.bias) {
        const problem = biasProblem(written, computing, w);
        if (problem) problems.push(problem);
        continue;
      }
      if (w === undefined) {
        problems.push(`its input ${k} ('${displayName(x)}') is gone`);
        continue;
      }
      const actual = formatOf(written, w);
      const init = source.initializers.get(x);
      if (init) {
        if (quantPrecision && layout && k === layout.weight && init.dtype === 'float32') {
          const bits = weightQuant(profile, quantPrecision).bits;
          const expected: ValueFormat = bits === 8 ? 'int8' : 'int16';
          if (actual !== expected) problems.push(`its weight '${displayName(x)}' is read as ${actual}, not ${expected}`);
        }
        continue;
      }
      if (!isFloat(x)) continue;
      let expected: ValueFormat;
      if (quantPrecision) expected = activationStorage(quantPrecision);
      else if (group?.innerTensors.includes(x)) expected = 'fp32';
      else if (planned === 'fp16') expected = 'fp16';
      else expected = plannedStorage(x);
      activationReads.push(actual);
      if (!group?.innerTensors.includes(x)) outerReads.push(actual);
      if (actual !== expected) problems.push(`it reads '${displayName(x)}' as ${actual}, not ${expected}`);
    }

    let found: NodeCheck['found'];
    const halfReads = outerReads.length > 0 && outerReads.every((f) => f === 'fp16');
    if (quantized && activationReads.length > 0)
      found = activationReads.every((f) => f === activationReads[0]) ? activationReads[0] : 'other';
    else if (stored !== undefined) found = stored;
    else if (planned === 'fp16' && halfReads) found = 'fp16';
    else found = group ? 'fused' : 'fp32';
    nodes.push({ node: node.name, opType: node.opType, planned, found, problems });
  }

  const opset = source.opsets.get('') ?? source.opsets.get('ai.onnx') ?? 1;
  const wantDomain = opset >= 21 ? '' : 'com.microsoft';
  const qdq = written.nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear');
  const qdqDomains = [...new Set(qdq.map((n) => (n.domain === 'ai.onnx' ? '' : n.domain)))];
  const mismatches: string[] = [];
  for (const n of nodes) {
    if (n.problems.length > 0) {
      mismatches.push(`node '${displayName(n.node)}' (${n.opType}, planned ${n.planned}): ${n.problems.join('; ')}`);
    }
  }
  for (const d of qdqDomains) {
    if (d !== wantDomain) {
      mismatches.push(
        `the model uses Q/DQ operators of domain '${d || 'ai.onnx'}' where opset ${opset} calls for '${wantDomain || 'ai.onnx'}'`,
      );
    }
  }
  return { nodes, qdqDomains, mismatches };
}
