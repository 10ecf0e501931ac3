import { dtypeFromOnnx, type DType } from '../core/dtype.js';
import { intAttr } from '../core/graph.js';
import { dtypeAttr, inferred, type InferredValue, type RuleContext, type ShapeRule } from './shape-context.js';
import { broadcastShapes, normAxis } from './shape-dims.js';

/** Ops whose output 0 has the shape and dtype of input 0 (old-IR ImageScaler and Affine included). */
const SAME_AS_INPUT = [
  'Abs',
  'Acos',
  'Acosh',
  'Affine',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'Ceil',
  'Celu',
  'Clip',
  'Cos',
  'Cosh',
  'CumSum',
  'Elu',
  'Erf',
  'Exp',
  'Floor',
  'Gelu',
  'GroupNormalization',
  'HardSigmoid',
  'HardSwish',
  'Hardmax',
  'Identity',
  'ImageScaler',
  'InstanceNormalization',
  'LeakyRelu',
  'Log',
  'LogSoftmax',
  'LpNormalization',
  'LRN',
  'MeanVarianceNormalization',
  'Mish',
  'Neg',
  'ParametricSoftplus',
  'PRelu',
  'Reciprocal',
  'Relu',
  'ReverseSequence',
  'Round',
  'Scale',
  'ScaledTanh',
  'Scatter',
  'ScatterElements',
  'ScatterND',
  'Selu',
  'Shrink',
  'Sigmoid',
  'Sign',
  'Sin',
  'Sinh',
  'Softmax',
  'Softplus',
  'Softsign',
  'Sqrt',
  'Tan',
  'Tanh',
  'ThresholdedRelu',
  'Trilu',
] as const;

const BOOL_UNARY = ['IsInf', 'IsNaN', 'Not'] as const;

const BINARY = [
  'Add',
  'And',
  'BitShift',
  'BitwiseAnd',
  'BitwiseOr',
  'BitwiseXor',
  'Div',
  'Max',
  'Mean',
  'Min',
  'Mod',
  'Mul',
  'Or',
  'Pow',
  'Sub',
  'Sum',
  'Xor',
] as const;

const COMPARE = ['Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual'] as const;

/** Before opset 7 these ops broadcast B onto A (attributes `broadcast`, `axis`): the output is A's shape. */
const LEGACY_BROADCAST = new Set(['Add', 'And', 'Div', 'Equal', 'Greater', 'Less', 'Mul', 'Or', 'Pow', 'Sub', 'Xor']);

function presentShapes(ctx: RuleContext) {
  const shapes = [];
  for (let i = 0; i < ctx.node.inputs.length; i++) if (ctx.has(i)) shapes.push(ctx.input(i).shape);
  return shapes;
}

function broadcastShape(ctx: RuleContext) {
  if (ctx.opset < 7 && LEGACY_BROADCAST.has(ctx.node.opType)) return ctx.input(0).shape;
  return broadcastShapes(presentShapes(ctx));
}

function firstDType(ctx: RuleContext): DType | null {
  for (let i = 0; i < ctx.node.inputs.length; i++) {
    const d = ctx.input(i).dtype;
    if (d !== null) return d;
  }
  return null;
}

const sameAsInput: ShapeRule = (ctx) => ctx.input(0);
const boolLike: ShapeRule = (ctx) => inferred('bool', ctx.input(0).shape);
// Pow's exponent may have another type; the result has the base's.
const binary: ShapeRule = (ctx) => inferred(ctx.node.opType === 'Pow' ? ctx.input(0).dtype : firstDType(ctx), broadcastShape(ctx));
const compare: ShapeRule = (ctx) => inferred('bool', broadcastShape(ctx));

/** The mean and inverse std-dev outputs of LayerNormalization: X's shape with 1 from `axis` on. */
function layerNormStats(ctx: RuleContext): InferredValue {
  const x = ctx.input(0).shape;
  const dtype = dtypeFromOnnx(intAttr(ctx.node, 'stash_type', 1)) ?? null;
  if (x === null) return inferred(dtype, null);
  const axis = normAxis(intAttr(ctx.node, 'axis', -1), x.length);
  if (axis === undefined) return inferred(dtype, null);
  return inferred(
    dtype,
    x.map((d, i) => (i < axis ? d : 1)),
  );
}

export const elementwiseRules: Record<string, ShapeRule> = {
  ...Object.fromEntries(SAME_AS_INPUT.map((op) => [op, sameAsInput])),
  ...Object.fromEntries(BOOL_UNARY.map((op) => [op, boolLike])),
  ...Object.fromEntries(BINARY.map((op) => [op, binary])),
  ...Object.fromEntries(COMPARE.map((op) => [op, compare])),
  Where: (ctx) => inferred(ctx.input(1).dtype ?? ctx.input(2).dtype, broadcastShape(ctx)),
  Cast: (ctx) => inferred(dtypeAttr(ctx.node, 'to'), ctx.input(0).shape),
  CastLike: (ctx) => inferred(ctx.input(1).dtype, ctx.input(0).shape),
  EyeLike: (ctx) => inferred(dtypeAttr(ctx.node, 'dtype') ?? ctx.input(0).dtype, ctx.input(0).shape),
  // Opset 10 made the mask boolean; before, it had the input's type.
  Dropout: (ctx) => [ctx.input(0), inferred(ctx.opset >= 10 ? 'bool' : ctx.input(0).dtype, ctx.input(0).shape)],
  // Outputs 1-4 (running and saved mean/variance, training mode only) have the [C] shape of `mean`.
  BatchNormalization: (ctx) => [ctx.input(0), ctx.input(3), ctx.input(4), ctx.input(3), ctx.input(4)],
  LayerNormalization: (ctx) => [ctx.input(0), layerNormStats(ctx), layerNormStats(ctx)],
  /** Opset 21's output_dtype, else the zero point's type, else uint8 (the ONNX default). */
  QuantizeLinear: (ctx) => {
    const declared = dtypeAttr(ctx.node, 'output_dtype');
    return inferred(declared || (ctx.input(2).dtype ?? 'uint8'), ctx.input(0).shape);
  },
  /** The scale's type (float32 before opset 19, when only float32 scales existed). */
  DequantizeLinear: (ctx) => inferred(ctx.input(1).dtype ?? 'float32', ctx.input(0).shape),
};
