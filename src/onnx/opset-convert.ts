import { displayName } from '../core/closest.js';
import { dtypeFromOnnx, type DType } from '../core/dtype.js';
import { InternalError, UserError } from '../core/errors.js';
import { floatToHalf } from '../core/float16.js';
import type { AttrValue, Graph, GraphNode } from '../core/graph.js';
import { makeTensor, type Tensor } from '../core/tensor.js';
import { attributeToProto } from './attributes.js';
import { defaultIrVersion } from './create.js';
import { normalizeDomain } from './graph-view.js';
import { int64ToBigInt, int64ToSafeNumber } from './int64.js';
import { graphOf, initializerTensor } from './model.js';
import { ModelHandle, handleOf, type OnnxModel } from './model-handle.js';
import { orderNodes, subgraphsOf } from './node-order.js';
import type { GraphProto, ModelProto, NodeProto } from './proto-types.js';
import { encodeTensor } from './tensor-proto.js';

/**
 * Default-domain opset conversion, upwards, from opset 7 to at most 11.
 *
 * Why: onnxruntime fuses QDQ patterns into integer kernels (QLinearConv since opset 10, Round since
 * 11), which a model importing an older default-domain opset cannot hold. Sources are the ONNX
 * Changelog (operator versions 7 to 11, and the experimental ops as documented before their
 * removal), onnx/version_converter's adapters, and onnxruntime's kernels where the spec left the
 * numbers open (Resize-10 rounding, Crop, MeanVarianceNormalization before 9).
 *
 * Every op is kept as it is unless a row of ADAPTERS (rewrite) or BLOCKED (refuse) applies to it
 * between the two opsets; the schema changes of everything else in 8..11 are compatible (types
 * added, negative axes, optional attributes whose default is the old behaviour). Nodes of other
 * domains are never touched. Nodes inside subgraphs (If/Loop/Scan bodies) are not rewritten: a
 * subgraph holding an op that a row applies to blocks its parent node.
 *
 * Numbers: rewritten ops compute what onnxruntime computed for the old op, bit for bit, except
 * where one fused kernel becomes a chain of nodes: ScaledTanh and ParametricSoftplus (onnxruntime's
 * Tanh and Softplus kernels differ from the fused ones in the last bits, measured up to 4.8e-7 on
 * values near 2), and in principle ImageScaler and Affine (x*a+b rounded once or twice).
 */

/** The newest opset this converter writes. */
export const MAX_CONVERT_TARGET = 11;
/** The oldest default-domain opset it reads. */
export const MIN_CONVERT_SOURCE = 7;

export interface OpsetBlocker {
  /** The node's name; '' when the whole model is refused (an opset older than 7). */
  readonly node: string;
  readonly opType: string;
  readonly reason: string;
}

type Plan =
  | { readonly kind: 'keep' }
  | { readonly kind: 'block'; readonly reason: string }
  | { readonly kind: 'replace'; readonly nodes: readonly NodeProto[] };

const KEEP: Plan = { kind: 'keep' };
const block = (reason: string): Plan => ({ kind: 'block', reason });
const replace = (...nodes: NodeProto[]): Plan => ({ kind: 'replace', nodes });

const INT64_MAX = (1n << 63n) - 1n;

// ---- the conversion context --------------------------------------------------------------

/** What adapters read (the source model) and write (fresh names, new initializers). */
class Conversion {
  readonly graph: Graph;
  private readonly protoByName = new Map<string, NodeProto>();
  private readonly taken = new Set<string>();
  private readonly overridable: Set<string>;
  readonly initializers: { name: string; tensor: Tensor }[] = [];
  private readonly typeCache = new Map<string, DType | undefined>();

  constructor(
    readonly model: OnnxModel,
    readonly from: number,
    readonly to: number,
  ) {
    const handle = handleOf(model);
    this.graph = graphOf(model);
    const graph = handle.proto.graph ?? {};
    for (const n of graph.node ?? []) this.protoByName.set(n.name ?? '', n);
    collectNames(graph, this.taken);
    // From IR 4 an initializer that is also a graph input can be overridden at run time.
    const irVersion = int64ToSafeNumber(handle.proto.ir_version, 'The IR version');
    this.overridable = new Set(irVersion >= 4 ? (graph.input ?? []).map((v) => v.name ?? '') : []);
  }

  protoOf(node: GraphNode): NodeProto {
    const proto = this.protoByName.get(node.name);
    if (!proto) throw new InternalError(`node '${node.name}' of the graph view is missing from the proto`);
    return proto;
  }

  /** A tensor or node name used nowhere in the model, from `base`, `base_2`, `base_3`, ... */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }

  /** Adds an initializer under a fresh name built from `base` and returns the name. */
  addInitializer(base: string, tensor: Tensor): string {
    const name = this.fresh(base);
    this.initializers.push({ name, tensor });
    return name;
  }

  /** The value of a tensor fixed before the run: a (non-overridable) initializer or a Constant's output. */
  constant(name: string): Tensor | undefined {
    if (name === '') return undefined;
    if (this.graph.initializers.has(name)) return this.overridable.has(name) ? undefined : initializerTensor(this.model, name);
    const producer = this.graph.producer.get(name);
    if (producer?.opType === 'Constant' && producer.domain === '') {
      const value = producer.attributes.get('value');
      if (value?.kind === 'tensor') return value.value;
    }
    return undefined;
  }

  /**
   * The element type of a tensor: declared (input, output, value_info, initializer), or traced
   * back through producers whose first output has the type of one of their inputs.
   */
  elementType(name: string): DType | undefined {
    if (this.typeCache.has(name)) return this.typeCache.get(name);
    this.typeCache.set(name, undefined); // a cycle ends the trace
    const type = this.traceType(name);
    this.typeCache.set(name, type);
    return type;
  }

  private traceType(name: string): DType | undefined {
    const declared = this.graph.values.get(name)?.dtype;
    if (declared) return declared;
    const producer = this.graph.producer.get(name);
    if (!producer || producer.domain !== '') return undefined;
    const outputIndex = producer.outputs.indexOf(name);
    if (producer.opType === 'Cast') {
      const to = producer.attributes.get('to');
      return to?.kind === 'int' ? dtypeFromOnnx(to.value) : undefined;
    }
    if (producer.opType === 'Constant') {
      const value = producer.attributes.get('value');
      return value?.kind === 'tensor' ? value.value.dtype : undefined;
    }
    if (TYPE_CHANGING.has(producer.opType)) return undefined;
    if (outputIndex !== 0 && !ALL_OUTPUTS_TYPED_LIKE_INPUT.has(producer.opType)) return undefined;
    const source = producer.inputs[TYPE_SOURCE_INPUT[producer.opType] ?? 0];
    return source ? this.elementType(source) : undefined;
  }

  /** An attribute's int64 list exactly as the file holds it (Slice ends are often INT64_MAX). */
  exactInts(node: GraphNode, attribute: string): bigint[] | undefined {
    const a = (this.protoOf(node).attribute ?? []).find((x) => x.name === attribute);
    if (!a) return undefined;
    return (a.ints ?? []).map((v) => int64ToBigInt(v));
  }
}

/** Every tensor and node name of a graph and its subgraphs. */
function collectNames(graph: GraphProto, into: Set<string>): void {
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.value_info ?? [])]) into.add(v.name ?? '');
  for (const t of graph.initializer ?? []) into.add(t.name ?? '');
  for (const s of graph.sparse_initializer ?? []) into.add(s.values?.name ?? '');
  for (const n of graph.node ?? []) {
    into.add(n.name ?? '');
    for (const t of [...(n.input ?? []), ...(n.output ?? [])]) into.add(t);
    for (const sub of subgraphsOf(n)) collectNames(sub, into);
  }
  into.delete('');
}

/**
 * Ops (default domain, opsets up to 11) whose first output does not take its element type from
 * input 0; the trace stops there. Cast and Constant are read from their attributes instead.
 */
const TYPE_CHANGING = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'Equal',
  'Greater',
  'Less',
  'And',
  'Or',
  'Xor',
  'Not',
  'IsNaN',
  'IsInf',
  'NonZero',
  'ConstantOfShape',
  'EyeLike',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'QuantizeLinear',
  'DequantizeLinear',
  'ConvInteger',
  'MatMulInteger',
  'QLinearConv',
  'QLinearMatMul',
  'DynamicQuantizeLinear',
  'StringNormalizer',
  'TfIdfVectorizer',
  'NonMaxSuppression',
  'If',
  'Loop',
  'Scan',
  'ATen',
  'ConstantFill',
  'GivenTensorFill',
  'SequenceLength',
]);
/** Ops whose output type is that of an input other than 0. */
const TYPE_SOURCE_INPUT: Readonly<Record<string, number>> = { Where: 1, OneHot: 2 };
/** Ops all of whose outputs share the type of the type-source input. */
const ALL_OUTPUTS_TYPED_LIKE_INPUT = new Set(['Split', 'LSTM', 'GRU', 'RNN', 'BatchNormalization']);

// ---- building nodes and constants --------------------------------------------------------

/** A float tensor of the given element type; undefined for a non-float type. */
function floatTensor(dtype: DType | undefined, dims: readonly number[], values: readonly number[]): Tensor | undefined {
  switch (dtype) {
    case 'float32':
      return makeTensor('float32', dims, Float32Array.from(values));
    case 'float64':
      return makeTensor('float64', dims, Float64Array.from(values));
    case 'float16':
      return makeTensor('float16', dims, Uint16Array.from(values.map(floatToHalf)));
    default:
      return undefined;
  }
}

function int64Tensor(values: readonly bigint[]): Tensor {
  return makeTensor('int64', [values.length], BigInt64Array.from(values));
}

/**
 * A copy of the node (name, domain, doc string kept) with another op type, inputs, outputs and
 * attributes: `drop` removes attributes, `set` adds or replaces them.
 */
function rewriteNode(
  proto: NodeProto,
  change: {
    opType?: string;
    inputs?: readonly string[];
    outputs?: readonly string[];
    drop?: readonly string[];
    set?: Readonly<Record<string, AttrValue>>;
  },
): NodeProto {
  const set = change.set ?? {};
  const dropped = new Set([...(change.drop ?? []), ...Object.keys(set)]);
  const attribute = [
    ...(proto.attribute ?? []).filter((a) => !dropped.has(a.name ?? '')),
    ...Object.entries(set).map(([name, value]) => attributeToProto(name, value)),
  ];
  const { attribute: _old, ...rest } = proto;
  return {
    ...rest,
    ...(change.opType === undefined ? {} : { op_type: change.opType }),
    ...(change.inputs === undefined ? {} : { input: [...change.inputs] }),
    ...(change.outputs === undefined ? {} : { output: [...change.outputs] }),
    ...(attribute.length > 0 ? { attribute } : {}),
  };
}

/** One step of an elementwise chain: an op, and optionally a constant second operand. */
interface Step {
  readonly op: string;
  readonly operand?: { readonly label: string; readonly tensor: Tensor };
}

/**
 * Replaces a one-input, one-output node by a chain of ops. The last node writes the original
 * output under the original node name; the others get fresh names. No steps means Identity.
 */
function chain(node: GraphNode, c: Conversion, steps: readonly Step[]): Plan {
  const proto = c.protoOf(node);
  const all = steps.length > 0 ? steps : [{ op: 'Identity' }];
  const nodes: NodeProto[] = [];
  let current = node.inputs[0];
  all.forEach((step, i) => {
    const last = i === all.length - 1;
    const inputs = [current];
    if (step.operand) inputs.push(c.addInitializer(`${node.name}_${step.operand.label}`, step.operand.tensor));
    const output = last ? node.outputs[0] : c.fresh(`${node.name}_${step.op.toLowerCase()}_out`);
    if (last) nodes.push(rewriteNode(proto, { opType: step.op, inputs, outputs: [output], drop: attributeNames(proto) }));
    else nodes.push({ name: c.fresh(`${node.name}_${step.op.toLowerCase()}`), op_type: step.op, input: inputs, output: [output] });
    current = output;
  });
  return replace(...nodes);
}

function attributeNames(proto: NodeProto): string[] {
  return (proto.attribute ?? []).map((a) => a.name ?? '');
}

// ---- attribute readers -------------------------------------------------------------------

function floatAttr(node: GraphNode, name: string): number | undefined {
  const a = node.attributes.get(name);
  return a?.kind === 'float' ? a.value : a?.kind === 'int' ? a.value : undefined;
}
function intAttr(node: GraphNode, name: string): number | undefined {
  const a = node.attributes.get(name);
  return a?.kind === 'int' ? a.value : undefined;
}
function stringAttr(node: GraphNode, name: string): string | undefined {
  const a = node.attributes.get(name);
  return a?.kind === 'string' ? a.value : undefined;
}
function floatsAttr(node: GraphNode, name: string): readonly number[] | undefined {
  const a = node.attributes.get(name);
  return a?.kind === 'floats' ? a.value : a?.kind === 'ints' ? a.value : undefined;
}

/** The element type of the node's first input, or a reason why a typed constant cannot be built. */
function floatTypeOf(node: GraphNode, c: Conversion): DType | string {
  const input = node.inputs[0] ?? '';
  const dtype = c.elementType(input);
  if (dtype === undefined)
    return `the element type of its input '${displayName(input)}' is neither declared nor traceable, and the rewrite needs constants of that type`;
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16')
    return `its input '${displayName(input)}' is ${dtype}, not a float type`;
  return dtype;
}

// ---- adapters: experimental ops removed at opset 10 --------------------------------------

/** ImageScaler-1: y = x * scale + bias[c] on [N,C,H,W]. */
function imageScaler(node: GraphNode, c: Conversion): Plan {
  const scale = floatAttr(node, 'scale') ?? 1;
  const bias = floatsAttr(node, 'bias');
  const steps: Step[] = [];
  if (scale !== 1 || bias) {
    const dtype = floatTypeOf(node, c);
    if (!isFloatType(dtype)) return block(dtype);
    if (scale !== 1) steps.push({ op: 'Mul', operand: { label: 'scale', tensor: floatTensor(dtype, [], [scale])! } });
    if (bias) steps.push({ op: 'Add', operand: { label: 'bias', tensor: floatTensor(dtype, [1, bias.length, 1, 1], bias)! } });
  }
  return chain(node, c, steps);
}

/** Affine-1: y = alpha * x + beta. */
function affine(node: GraphNode, c: Conversion): Plan {
  return scaleAndShift(node, c, floatAttr(node, 'alpha') ?? 1, floatAttr(node, 'beta') ?? 0);
}

/** Scale-1: y = scale * x. */
function scaleOp(node: GraphNode, c: Conversion): Plan {
  return scaleAndShift(node, c, floatAttr(node, 'scale') ?? 1, 0);
}

function scaleAndShift(node: GraphNode, c: Conversion, alpha: number, beta: number): Plan {
  if (alpha === 1 && beta === 0) return chain(node, c, []);
  const dtype = floatTypeOf(node, c);
  if (!isFloatType(dtype)) return block(dtype);
  const steps: Step[] = [];
  if (alpha !== 1) steps.push({ op: 'Mul', operand: { label: 'alpha', tensor: floatTensor(dtype, [], [alpha])! } });
  if (beta !== 0) steps.push({ op: 'Add', operand: { label: 'beta', tensor: floatTensor(dtype, [], [beta])! } });
  return chain(node, c, steps);
}

/** ScaledTanh-1: alpha * tanh(beta * x); ParametricSoftplus-1: alpha * ln(exp(beta * x) + 1). */
function scaledActivation(activation: 'Tanh' | 'Softplus') {
  return (node: GraphNode, c: Conversion): Plan => {
    const alpha = floatAttr(node, 'alpha');
    const beta = floatAttr(node, 'beta');
    // Both are required attributes without defaults (onnxruntime refuses the node without them).
    if (alpha === undefined || beta === undefined) return block('attributes alpha and beta are required');
    const dtype = floatTypeOf(node, c);
    if (!isFloatType(dtype)) return block(dtype);
    const steps: Step[] = [];
    if (beta !== 1) steps.push({ op: 'Mul', operand: { label: 'beta', tensor: floatTensor(dtype, [], [beta])! } });
    steps.push({ op: activation });
    if (alpha !== 1) steps.push({ op: 'Mul', operand: { label: 'alpha', tensor: floatTensor(dtype, [], [alpha])! } });
    return chain(node, c, steps);
  };
}

/**
 * Crop-1 on [N,C,H,W], border = [left, top, right, bottom], optional scale = [height, width]:
 * rows top .. top+height (or H-bottom), columns left .. left+width (or W-right), as onnxruntime's
 * kernel does. Becomes Slice on axes 2 and 3; a zero bottom/right border slices to INT64_MAX.
 */
function crop(node: GraphNode, c: Conversion): Plan {
  const border = c.exactInts(node, 'border');
  if (!border || border.length !== 4)
    return block(`attribute border must hold 4 values (left, top, right, bottom), it has ${border?.length ?? 0}`);
  const scale = c.exactInts(node, 'scale');
  if (scale && scale.length !== 0 && scale.length !== 2)
    return block(`attribute scale must hold 2 values (height, width), it has ${scale.length}`);
  if (border.some((b) => b < 0n)) return block('a negative border has no Slice equivalent');
  const [left, top, right, bottom] = border;
  const starts = [top, left];
  const ends =
    scale && scale.length === 2 ? [top + scale[0], left + scale[1]] : [bottom > 0n ? -bottom : INT64_MAX, right > 0n ? -right : INT64_MAX];
  return sliceFrom(node, c, starts, ends, [2n, 3n]);
}

/** A Slice-10 node (starts, ends, axes as int64 initializers) replacing `node` one for one. */
function sliceFrom(node: GraphNode, c: Conversion, starts: bigint[], ends: bigint[], axes: bigint[] | undefined): Plan {
  const inputs = [
    node.inputs[0],
    c.addInitializer(`${node.name}_starts`, int64Tensor(starts)),
    c.addInitializer(`${node.name}_ends`, int64Tensor(ends)),
    ...(axes ? [c.addInitializer(`${node.name}_axes`, int64Tensor(axes))] : []),
  ];
  const proto = c.protoOf(node);
  return replace(rewriteNode(proto, { opType: 'Slice', inputs, outputs: [node.outputs[0]], drop: attributeNames(proto) }));
}

/** DynamicSlice-1 has Slice-10's inputs (data, starts, ends, axes) and meaning. */
function dynamicSlice(node: GraphNode, c: Conversion): Plan {
  return replace(rewriteNode(c.protoOf(node), { opType: 'Slice' }));
}

// ---- adapters: standard ops whose form changed -------------------------------------------

/**
 * MeanVarianceNormalization before 9 (across_channels, normalize_variance) in onnxruntime
 * normalises each channel over N, H and W, or over everything with across_channels; that is
 * opset 9's axes [0,2,3] or [0,1,2,3]. Opset 9 always divides by the deviation.
 */
function meanVarianceNormalization(node: GraphNode, c: Conversion): Plan {
  if ((intAttr(node, 'normalize_variance') ?? 1) === 0)
    return block('normalize_variance=0 (subtracting the mean only) has no opset-9 form');
  const axes = (intAttr(node, 'across_channels') ?? 0) !== 0 ? [0, 1, 2, 3] : [0, 2, 3];
  return replace(
    rewriteNode(c.protoOf(node), { drop: ['across_channels', 'normalize_variance'], set: { axes: { kind: 'ints', value: axes } } }),
  );
}

/** BatchNormalization-9 dropped `spatial`; only its default, 1, keeps its meaning. */
function batchNormalization(node: GraphNode, c: Conversion): Plan {
  const spatial = intAttr(node, 'spatial');
  if (spatial === undefined) return KEEP;
  if (spatial !== 1) return block('spatial=0 (per-activation statistics) was removed at opset 9');
  return replace(rewriteNode(c.protoOf(node), { drop: ['spatial'] }));
}

/** Dropout-10's mask output is bool, not T: an unused mask is dropped, a used one blocks. */
function dropout(node: GraphNode, c: Conversion): Plan {
  const mask = node.outputs[1] ?? '';
  if (mask === '') return KEEP;
  const used = (c.graph.consumers.get(mask)?.length ?? 0) > 0 || c.graph.outputs.some((o) => o.name === mask);
  if (used) return block(`its mask output '${displayName(mask)}' is used, and its type changes from the data type to bool at opset 10`);
  return replace(rewriteNode(c.protoOf(node), { outputs: [node.outputs[0]] }));
}

/** Slice before 10: starts, ends, axes attributes become int64 inputs. */
function slice(node: GraphNode, c: Conversion): Plan {
  const starts = c.exactInts(node, 'starts');
  const ends = c.exactInts(node, 'ends');
  if (!starts || !ends) return block('attributes starts and ends are required');
  return sliceFrom(node, c, starts, ends, c.exactInts(node, 'axes'));
}

/** TopK before 10: attribute k becomes an int64 [1] input. */
function topK(node: GraphNode, c: Conversion): Plan {
  const proto = c.protoOf(node);
  const k = (proto.attribute ?? []).find((a) => a.name === 'k');
  if (k?.i === undefined) return block('attribute k is required');
  const kName = c.addInitializer(`${node.name}_k`, int64Tensor([int64ToBigInt(k.i)]));
  return replace(rewriteNode(proto, { inputs: [node.inputs[0], kName], drop: ['k'] }));
}

/**
 * Upsample: scales is an attribute before 9 and an input from 9; the op is deprecated at 10 in
 * favour of Resize. onnxruntime runs Upsample (and Resize before 11) with asymmetric coordinates
 * and, for nearest, truncation when scale >= 1 (Upsample requires that): Resize-11's
 * coordinate_transformation_mode 'asymmetric' with nearest_mode 'floor'.
 */
function upsample(node: GraphNode, c: Conversion): Plan {
  const mode = stringAttr(node, 'mode') ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear')
    return block(`mode '${displayName(mode, 40)}' is not one of nearest and linear`);
  const proto = c.protoOf(node);
  let scales = node.inputs[1] ?? '';
  if (c.from < 9) {
    const values = floatsAttr(node, 'scales');
    if (!values) return block('attribute scales is required');
    scales = c.addInitializer(`${node.name}_scales`, makeTensor('float32', [values.length], Float32Array.from(values)));
  }
  if (scales === '') return block('it has no scales');
  const resizeMode = mode === 'nearest' ? 'nearest' : 'linear';
  if (c.to === 9) {
    return replace(
      rewriteNode(proto, { inputs: [node.inputs[0], scales], drop: ['scales'], set: { mode: { kind: 'string', value: resizeMode } } }),
    );
  }
  return resizeNode(node, c, proto, scales, resizeMode, 'floor');
}

/**
 * Resize-10 to 11: roi input, explicit coordinate mode. onnxruntime's Resize-10 rounds a nearest
 * source coordinate down when upsampling and up when downsampling (per axis), so nearest needs
 * constant scales that do not mix the two.
 */
function resize10(node: GraphNode, c: Conversion): Plan {
  const mode = stringAttr(node, 'mode') ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'linear') return block(`mode '${displayName(mode, 40)}' is not one of nearest and linear`);
  const scalesName = node.inputs[1] ?? '';
  let rounding: 'floor' | 'ceil' = 'floor';
  if (mode === 'nearest') {
    const scales = c.constant(scalesName);
    if (!scales)
      return block('its scales are computed at run time, and nearest rounding in Resize-10 depends on whether each scale is below 1');
    const values = Array.from(scales.data as Float32Array);
    const down = values.some((s) => s < 1);
    if (down && values.some((s) => s > 1))
      return block('its scales mix upsampling and downsampling axes, which Resize-10 rounds differently');
    if (down) rounding = 'ceil';
  }
  return resizeNode(node, c, c.protoOf(node), scalesName, mode, rounding);
}

function resizeNode(
  node: GraphNode,
  c: Conversion,
  proto: NodeProto,
  scales: string,
  mode: 'nearest' | 'linear',
  rounding: 'floor' | 'ceil',
): Plan {
  if (c.to === 10) {
    return replace(
      rewriteNode(proto, {
        opType: 'Resize',
        inputs: [node.inputs[0], scales],
        drop: attributeNames(proto),
        set: { mode: { kind: 'string', value: mode } },
      }),
    );
  }
  // The roi input is required at opset 11 and read only by tf_crop_and_resize.
  const roi = c.addInitializer(`${node.name}_roi`, makeTensor('float32', [0], new Float32Array(0)));
  const set: Record<string, AttrValue> = {
    mode: { kind: 'string', value: mode },
    coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
    ...(mode === 'nearest' ? { nearest_mode: { kind: 'string', value: rounding } } : {}),
  };
  return replace(rewriteNode(proto, { opType: 'Resize', inputs: [node.inputs[0], roi, scales], drop: attributeNames(proto), set }));
}

/** Pad before 11: pads (int64 input), value (a scalar input of the data type), mode kept. */
function pad(node: GraphNode, c: Conversion): Plan {
  const pads = c.exactInts(node, 'pads');
  if (!pads) return block('attribute pads is required');
  const mode = stringAttr(node, 'mode') ?? 'constant';
  const value = floatAttr(node, 'value') ?? 0;
  const inputs = [node.inputs[0], c.addInitializer(`${node.name}_pads`, int64Tensor(pads))];
  if (mode === 'constant' && value !== 0) {
    const dtype = floatTypeOf(node, c);
    if (!isFloatType(dtype)) return block(dtype);
    inputs.push(c.addInitializer(`${node.name}_value`, floatTensor(dtype, [], [value])!));
  }
  return replace(rewriteNode(c.protoOf(node), { inputs, drop: ['pads', 'value'] }));
}

/** Clip before 11: min and max attributes become optional scalar inputs of the data type. */
function clip(node: GraphNode, c: Conversion): Plan {
  const min = floatAttr(node, 'min');
  const max = floatAttr(node, 'max');
  const inputs = [node.inputs[0]];
  if (min !== undefined || max !== undefined) {
    const dtype = floatTypeOf(node, c);
    if (!isFloatType(dtype)) return block(dtype);
    inputs.push(min === undefined ? '' : c.addInitializer(`${node.name}_min`, floatTensor(dtype, [], [min])!));
    if (max !== undefined) inputs.push(c.addInitializer(`${node.name}_max`, floatTensor(dtype, [], [max])!));
  }
  return replace(rewriteNode(c.protoOf(node), { inputs, drop: ['min', 'max'] }));
}

/** Scatter is deprecated at 11; ScatterElements is the same op under its new name. */
function scatter(node: GraphNode, c: Conversion): Plan {
  return replace(rewriteNode(c.protoOf(node), { opType: 'ScatterElements' }));
}

function isFloatType(v: DType | string): v is DType {
  return v === 'float32' || v === 'float64' || v === 'float16';
}

// ---- the tables --------------------------------------------------------------------------

interface Row {
  /** The opsets at which the old form stops being valid: the row applies when from < v <= to. */
  readonly changes: readonly number[];
  readonly plan: (node: GraphNode, c: Conversion) => Plan;
}

const refuse = (reason: string) => (): Plan => block(reason);

/**
 * Ops rewritten when a change of theirs lies between the two opsets. (ThresholdedRelu, experimental
 * until opset 10 and standard from 10 with the same attribute and meaning, needs no row.)
 */
const ADAPTERS: Readonly<Record<string, Row>> = {
  ImageScaler: { changes: [10], plan: imageScaler },
  Affine: { changes: [10], plan: affine },
  Scale: { changes: [10], plan: scaleOp },
  ScaledTanh: { changes: [10], plan: scaledActivation('Tanh') },
  ParametricSoftplus: { changes: [10], plan: scaledActivation('Softplus') },
  Crop: { changes: [10], plan: crop },
  DynamicSlice: { changes: [10], plan: dynamicSlice },
  MeanVarianceNormalization: { changes: [9], plan: meanVarianceNormalization },
  BatchNormalization: { changes: [9], plan: batchNormalization },
  Upsample: { changes: [9, 10], plan: upsample },
  Dropout: { changes: [10], plan: dropout },
  Slice: { changes: [10], plan: slice },
  TopK: { changes: [10], plan: topK },
  Resize: { changes: [11], plan: resize10 },
  Pad: { changes: [11], plan: pad },
  Clip: { changes: [11], plan: clip },
  Scatter: { changes: [11], plan: scatter },
};

/** Ops refused when a change of theirs lies between the two opsets. */
const BLOCKED: Readonly<Record<string, Row>> = {
  ATen: { changes: [10], plan: refuse('the experimental op was removed at opset 10 and has no standard equivalent') },
  ConstantFill: {
    changes: [10],
    plan: refuse('the experimental op was removed at opset 10 and is not rewritten (ConstantOfShape differs in its inputs)'),
  },
  GivenTensorFill: { changes: [10], plan: refuse('the experimental op was removed at opset 10 and has no standard equivalent') },
  GRUUnit: { changes: [10], plan: refuse('the experimental op was removed at opset 10 and has no standard equivalent') },
  Scan: { changes: [9], plan: refuse('Scan-8 (batch axis, sequence_lens input) differs from Scan-9 and is not rewritten') },
};

function rowFor(opType: string, domain: string, from: number, to: number): Row | undefined {
  if (domain !== '') return undefined;
  const row = Object.hasOwn(ADAPTERS, opType) ? ADAPTERS[opType] : Object.hasOwn(BLOCKED, opType) ? BLOCKED[opType] : undefined;
  return row && row.changes.some((v) => from < v && v <= to) ? row : undefined;
}

/** The first node of a subgraph (recursively) that a row applies to. */
function subgraphNodeNeedingWork(graph: GraphProto, from: number, to: number): NodeProto | undefined {
  for (const n of graph.node ?? []) {
    if (rowFor(n.op_type ?? '', normalizeDomain(n.domain), from, to)) return n;
    for (const sub of subgraphsOf(n)) {
      const found = subgraphNodeNeedingWork(sub, from, to);
      if (found) return found;
    }
  }
  return undefined;
}

function planNode(node: GraphNode, c: Conversion): Plan {
  for (const sub of subgraphsOf(c.protoOf(node))) {
    const inner = subgraphNodeNeedingWork(sub, c.from, c.to);
    if (inner)
      return block(
        `its subgraph holds node '${displayName(inner.name ?? '')}' (${displayName(inner.op_type ?? '', 60)}), which would need rewriting, and subgraphs are not rewritten`,
      );
  }
  const row = rowFor(node.opType, node.domain, c.from, c.to);
  return row ? row.plan(node, c) : KEEP;
}

// ---- the API -----------------------------------------------------------------------------

function defaultOpset(model: OnnxModel): number | undefined {
  return graphOf(model).opsets.get('');
}

function checkTarget(target: number): void {
  if (!Number.isInteger(target) || target > MAX_CONVERT_TARGET) {
    throw new InternalError(`opset conversion supports targets up to ${MAX_CONVERT_TARGET}, not ${target}`);
  }
}

function planAll(model: OnnxModel, from: number, target: number): { c: Conversion; plans: Map<string, Plan>; blockers: OpsetBlocker[] } {
  const c = new Conversion(model, from, target);
  const plans = new Map<string, Plan>();
  const blockers: OpsetBlocker[] = [];
  for (const node of c.graph.nodes) {
    const plan = planNode(node, c);
    plans.set(node.name, plan);
    if (plan.kind === 'block') blockers.push({ node: node.name, opType: node.opType, reason: plan.reason });
  }
  return { c, plans, blockers };
}

function tooOld(from: number): OpsetBlocker {
  return {
    node: '',
    opType: '',
    reason: `the default-domain opset is ${from}, older than ${MIN_CONVERT_SOURCE}, the oldest this converter reads`,
  };
}

/**
 * The ops of a model that stop its conversion to `target`, with reasons; empty when the model
 * converts (or needs no conversion). A model older than opset 7 gives one entry with node ''.
 */
export function opsetConversionBlockers(model: OnnxModel, target: number): OpsetBlocker[] {
  checkTarget(target);
  const from = defaultOpset(model);
  if (from === undefined || from >= target) return [];
  if (from < MIN_CONVERT_SOURCE) return [tooOld(from)];
  return planAll(model, from, target).blockers;
}

/**
 * Converts a model's default-domain ('' / 'ai.onnx') opset up to `target` (at most 11; only
 * upwards: a model at or above `target`, or importing no default domain, is returned as it is).
 * Tensor names, graph inputs and outputs are kept, and so are node names of ops rewritten one for
 * one; an op replaced by several nodes keeps its name on the node that writes its output.
 *
 * The IR version is raised to the one the target opset needs (6 for opset 11). A model below IR 4
 * lists its initializers as graph inputs; from IR 4 such inputs would make them overridable (and
 * no longer constant to onnxruntime's optimizer), so they are removed from the input list.
 *
 * Throws a UserError naming each node and op that cannot be converted (see opsetConversionBlockers).
 */
export function convertOpset(model: OnnxModel, target: number): OnnxModel {
  checkTarget(target);
  const handle = handleOf(model);
  const from = defaultOpset(model);
  if (from === undefined || from >= target) return model;
  const what = handle.source ? `'${displayName(handle.source)}'` : 'the model';
  if (from < MIN_CONVERT_SOURCE) {
    throw new UserError(`Cannot convert ${what} to opset ${target}: ${tooOld(from).reason}.`);
  }
  const { c, plans, blockers } = planAll(model, from, target);
  if (blockers.length > 0) {
    const shown = blockers.slice(0, 5).map((b) => `node '${displayName(b.node)}' (${displayName(b.opType, 60)}): ${b.reason}`);
    const more = blockers.length > 5 ? `; and ${blockers.length - 5} more` : '';
    throw new UserError(`Cannot convert ${what} from opset ${from} to ${target}: ${shown.join('; ')}${more}.`);
  }
  return buildConverted(handle, c, plans, target);
}

function buildConverted(handle: ModelHandle, c: Conversion, plans: ReadonlyMap<string, Plan>, target: number): OnnxModel {
  const proto = handle.proto;
  const graph = proto.graph ?? {};
  const nodes: NodeProto[] = [];
  for (const n of graph.node ?? []) {
    const plan = plans.get(n.name ?? '');
    if (plan?.kind === 'replace') nodes.push(...plan.nodes);
    else nodes.push(n);
  }
  const oldIr = int64ToSafeNumber(proto.ir_version, 'The IR version');
  const newIr = Math.max(oldIr, defaultIrVersion(target));
  const initializerNames = new Set([...c.graph.initializers.keys()]);
  const input = oldIr < 4 && newIr >= 4 ? (graph.input ?? []).filter((v) => !initializerNames.has(v.name ?? '')) : (graph.input ?? []);
  // A dropped Dropout mask leaves a value_info entry that nothing produces any more.
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const gone = new Set((graph.node ?? []).flatMap((n) => n.output ?? []).filter((t) => !produced.has(t)));
  const valueInfo = (graph.value_info ?? []).filter((v) => !gone.has(v.name ?? ''));
  const newGraph: GraphProto = {
    ...graph,
    node: orderNodes(nodes),
    initializer: [...(graph.initializer ?? []), ...c.initializers.map((i) => encodeTensor(i.tensor, i.name))],
    input,
    value_info: valueInfo,
  };
  const opsetImport = (proto.opset_import ?? []).map((o) => (normalizeDomain(o.domain) === '' ? { ...o, version: target } : o));
  const newProto: ModelProto = { ...proto, ir_version: newIr, opset_import: opsetImport, graph: newGraph };
  const result = new ModelHandle(newProto, handle.baseDir, handle.source, undefined);
  graphOf(result);
  return result;
}
