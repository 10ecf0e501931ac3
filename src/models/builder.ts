import type { DType } from '../core/dtype.js';
import type { AttrValue, ValueInfo } from '../core/graph.js';
import { makeTensor, type Tensor } from '../core/tensor.js';
import type { ModelSpec, NodeSpec } from '../onnx/index.js';
import { hashString, heUniform, mulberry32, uniformArray } from './random.js';
import { broadcastShapes, pooledSize, type Shape } from './shapes.js';
import { attr, type BuilderOptions, type NodeOptions, type GenericNodeOptions, type ConvOptions, type ConvTransposeOptions, type InstanceNormOptions, type Operand } from './builder-options.js';

export type { Shape } from './shapes.js';
export { attr, type BuilderOptions, type NodeOptions, type GenericNodeOptions, type ConvOptions, type ConvTransposeOptions, type InstanceNormOptions, type Operand } from './builder-options.js';

/**
 * A small builder for the models the project generates (the demo and the test fixtures). It
 * accumulates nodes and initializers with unique names, tracks the static shape of every tensor
 * it creates (so convolutions know their input channels and the model carries value_info), picks
 * the operator form that the target opset defines (Resize or Upsample, ReduceMean axes as an
 * attribute or an input) and draws weights from a seeded generator.
 *
 * Naming: a node gets the given name (made unique with `_2`, `_3`, ...) or `<op>_<n>`; its output
 * tensor is `<node>_out` unless `out` names it (graph outputs usually do).
 *
 * Weights: each initializer draws from its own generator seeded by the builder's seed and the
 * initializer's name, so editing one part of a model leaves the other weights' bits unchanged.
 */


export class GraphBuilder {
  readonly opset: number;
  private readonly options: BuilderOptions;
  private readonly seed: number;
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: { name: string; tensor: Tensor }[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly shapes = new Map<string, Shape>();
  private readonly dtypes = new Map<string, DType>();
  private readonly tensorNames = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly opCounts = new Map<string, number>();

  constructor(options: BuilderOptions) {
    this.options = options;
    this.opset = options.opset;
    this.seed = (options.seed ?? 1) >>> 0;
  }

  // ---- names, shapes, initializers -------------------------------------------------------

  private uniqueName(taken: Set<string>, base: string): string {
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  }

  private claimTensor(name: string): string {
    if (this.tensorNames.has(name)) throw new Error(`tensor name '${name}' is already taken`);
    this.tensorNames.add(name);
    return name;
  }

  /** The tracked shape of a tensor; throws when the builder does not know it. */
  shapeOf(tensor: string): Shape {
    const shape = this.shapes.get(tensor);
    if (!shape) throw new Error(`the shape of tensor '${tensor}' is not known to the builder`);
    return shape;
  }

  /** A generator for the named initializer, independent of every other initializer's draws. */
  randomFor(name: string): () => number {
    return mulberry32(hashString(name, this.seed ^ 0x811c9dc5));
  }

  input(name: string, shape: Shape, dtype: DType = 'float32'): string {
    this.claimTensor(name);
    this.shapes.set(name, shape);
    this.dtypes.set(name, dtype);
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /** Marks a tensor as a graph output (with its tracked shape and type when known). */
  output(tensor: string): string {
    this.outputs.push({ name: tensor, dtype: this.dtypes.get(tensor) ?? 'float32', shape: this.shapes.get(tensor) });
    return tensor;
  }

  initializer(base: string, tensor: Tensor): string {
    const name = this.uniqueName(this.tensorNames, base);
    this.inits.push({ name, tensor });
    this.shapes.set(name, tensor.dims);
    this.dtypes.set(name, tensor.dtype);
    return name;
  }

  /** A float32 initializer. */
  constant(base: string, dims: Shape, values: ArrayLike<number>): string {
    return this.initializer(base, makeTensor('float32', dims, Float32Array.from(values)));
  }

  /** A 1-D int64 initializer (axes, shapes). */
  int64s(base: string, values: readonly number[]): string {
    return this.initializer(base, makeTensor('int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v)))));
  }

  /** Uniform random float32 values in [-limit, limit), seeded by the initializer's name. */
  randomConstant(base: string, dims: Shape, limit: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    return this.constant(base, dims, uniformArray(this.randomFor(base), count, limit));
  }

  private operand(x: Operand, base: string): string {
    return typeof x === 'number' ? this.constant(`${base}_const`, [1], [x]) : x;
  }

  // ---- generic node ----------------------------------------------------------------------

  /** Adds a single-output node and returns its output tensor's name. */
  node(opType: string, inputs: readonly string[], options: GenericNodeOptions = {}): string {
    for (const t of inputs) {
      if (t !== '' && !this.tensorNames.has(t)) throw new Error(`node ${opType} reads unknown tensor '${t}'`);
    }
    if (options.out !== undefined && this.tensorNames.has(options.out)) throw new Error(`tensor name '${options.out}' is already taken`);
    const count = (this.opCounts.get(opType) ?? 0) + 1;
    this.opCounts.set(opType, count);
    const name = this.uniqueName(this.nodeNames, options.name ?? `${opType.toLowerCase()}_${count}`);
    const out = options.out !== undefined ? this.claimTensor(options.out) : this.uniqueName(this.tensorNames, `${name}_out`);
    const spec: NodeSpec = {
      name,
      opType,
      inputs: [...inputs],
      outputs: [out],
      ...(options.domain ? { domain: options.domain } : {}),
      ...(options.attributes ? { attributes: options.attributes } : {}),
    };
    this.nodes.push(spec);
    if (options.shape) this.shapes.set(out, options.shape);
    this.dtypes.set(out, 'float32');
    return out;
  }

  /** The name the next node would get from `options.name` (for naming its initializers). */
  private baseName(opType: string, options: NodeOptions): string {
    return options.name ?? `${opType.toLowerCase()}_${(this.opCounts.get(opType) ?? 0) + 1}`;
  }

  // ---- convolution family -----------------------------------------------------------------

  conv(x: string, cout: number, k: number, options: ConvOptions = {}): string {
    const [n, cin, h, w] = this.shapeOf(x);
    const stride = options.stride ?? 1;
    const pad = options.pad ?? 0;
    const group = options.group ?? 1;
    const base = this.baseName('Conv', options);
    const wDims = [cout, cin / group, k, k];
    const fanIn = (cin / group) * k * k;
    const inputs = [x, this.weights(base, wDims, fanIn, options)];
    if (options.bias !== false) inputs.push(this.bias(base, cout, fanIn, options));
    return this.node('Conv', inputs, {
      ...options,
      attributes: {
        kernel_shape: attr.ints([k, k]),
        strides: attr.ints([stride, stride]),
        pads: attr.ints([pad, pad, pad, pad]),
        ...(group !== 1 ? { group: attr.int(group) } : {}),
      },
      shape: [n, cout, pooledSize(h, k, stride, pad), pooledSize(w, k, stride, pad)],
    });
  }

  convTranspose(x: string, cout: number, k: number, options: ConvTransposeOptions = {}): string {
    const [n, cin, h, w] = this.shapeOf(x);
    const stride = options.stride ?? 1;
    const pad = options.pad ?? 0;
    const outputPadding = options.outputPadding ?? 0;
    const base = this.baseName('ConvTranspose', options);
    const wDims = [cin, cout, k, k];
    const fanIn = (cin * k * k) / (stride * stride);
    const inputs = [x, this.weights(base, wDims, fanIn, options)];
    if (options.bias !== false) inputs.push(this.bias(base, cout, fanIn, options));
    const size = (d: number): number => (d - 1) * stride - 2 * pad + k + outputPadding;
    return this.node('ConvTranspose', inputs, {
      ...options,
      attributes: {
        kernel_shape: attr.ints([k, k]),
        strides: attr.ints([stride, stride]),
        pads: attr.ints([pad, pad, pad, pad]),
        ...(outputPadding !== 0 ? { output_padding: attr.ints([outputPadding, outputPadding]) } : {}),
      },
      shape: [n, cout, size(h), size(w)],
    });
  }

  /** Gemm with transB=1: x [N, K] times W[nout, K]ᵀ plus bias. */
  gemm(x: string, nout: number, options: ConvOptions = {}): string {
    const [n, nin] = this.shapeOf(x);
    const base = this.baseName('Gemm', options);
    const inputs = [x, this.weights(base, [nout, nin], nin, options)];
    if (options.bias !== false) inputs.push(this.bias(base, nout, nin, options));
    return this.node('Gemm', inputs, { ...options, attributes: { transB: attr.int(1) }, shape: [n, nout] });
  }

  private weights(base: string, dims: Shape, fanIn: number, options: ConvOptions): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const w = heUniform(this.randomFor(`${base}_W`), count, fanIn, options.weightScale ?? 1);
    options.editWeights?.(w, dims);
    return this.constant(`${base}_W`, dims, w);
  }

  private bias(base: string, count: number, fanIn: number, options: ConvOptions): string {
    const b = Array.isArray(options.bias)
      ? Float32Array.from(options.bias)
      : uniformArray(this.randomFor(`${base}_B`), count, (options.weightScale ?? 1) / Math.sqrt(Math.max(1, fanIn)));
    if (b.length !== count) throw new Error(`bias of ${base} needs ${count} values, got ${b.length}`);
    options.editBias?.(b);
    return this.constant(`${base}_B`, [count], b);
  }

  // ---- normalisation and pooling ----------------------------------------------------------

  instanceNorm(x: string, options: InstanceNormOptions = {}): string {
    const shape = this.shapeOf(x);
    const c = shape[1];
    const base = this.baseName('InstanceNormalization', options);
    const scale = this.constant(`${base}_scale`, [c], options.scale ?? new Array<number>(c).fill(1));
    const bias = this.constant(`${base}_bias`, [c], options.bias ?? new Array<number>(c).fill(0));
    return this.node('InstanceNormalization', [x, scale, bias], {
      ...options,
      attributes: { epsilon: attr.float(options.epsilon ?? 1e-5) },
      shape,
    });
  }

  maxPool(x: string, k: number, options: NodeOptions & { stride?: number; pad?: number } = {}): string {
    const [n, c, h, w] = this.shapeOf(x);
    const stride = options.stride ?? k;
    const pad = options.pad ?? 0;
    return this.node('MaxPool', [x], {
      ...options,
      attributes: { kernel_shape: attr.ints([k, k]), strides: attr.ints([stride, stride]), pads: attr.ints([pad, pad, pad, pad]) },
      shape: [n, c, pooledSize(h, k, stride, pad), pooledSize(w, k, stride, pad)],
    });
  }

  globalAveragePool(x: string, options: NodeOptions = {}): string {
    const [n, c] = this.shapeOf(x);
    return this.node('GlobalAveragePool', [x], { ...options, shape: [n, c, 1, 1] });
  }

  /** ReduceMean over `axes`: an attribute before opset 18, an int64 input from opset 18. */
  reduceMean(x: string, axes: readonly number[], options: NodeOptions & { keepdims?: boolean } = {}): string {
    const shape = this.shapeOf(x);
    const keep = options.keepdims ?? true;
    const norm = axes.map((a) => (a < 0 ? a + shape.length : a));
    const outShape = keep ? shape.map((d, i) => (norm.includes(i) ? 1 : d)) : shape.filter((_, i) => !norm.includes(i));
    const attributes: Record<string, AttrValue> = { keepdims: attr.int(keep ? 1 : 0) };
    const inputs = [x];
    if (this.opset >= 18) inputs.push(this.int64s(`${this.baseName('ReduceMean', options)}_axes`, axes));
    else attributes.axes = attr.ints(axes);
    return this.node('ReduceMean', inputs, { ...options, attributes, shape: outShape });
  }

  flatten(x: string, options: NodeOptions = {}): string {
    const shape = this.shapeOf(x);
    const rest = shape.slice(1).reduce((a, b) => a * b, 1);
    return this.node('Flatten', [x], { ...options, attributes: { axis: attr.int(1) }, shape: [shape[0], rest] });
  }

  concat(xs: readonly string[], axis: number, options: NodeOptions = {}): string {
    const shapes = xs.map((x) => this.shapeOf(x));
    const out = shapes[0].map((d, i) => (i === axis ? shapes.reduce((s, sh) => s + sh[i], 0) : d));
    return this.node('Concat', xs, { ...options, attributes: { axis: attr.int(axis) }, shape: out });
  }

  /**
   * Nearest-neighbour upsampling of H and W by an integer factor, in the form the opset defines:
   * Upsample with a `scales` attribute (opset 7-8) or input (9), Resize without (10) or with an
   * roi input (11-12, an empty tensor) and with roi omitted (13+). From opset 11 the coordinate
   * mode is `asymmetric` with `floor`, which is what Upsample did.
   */
  resizeNearest(x: string, factor: number, options: NodeOptions = {}): string {
    const [n, c, h, w] = this.shapeOf(x);
    const shape = [n, c, h * factor, w * factor];
    const scales = [1, 1, factor, factor];
    const base = this.baseName(this.opset >= 10 ? 'Resize' : 'Upsample', options);
    if (this.opset <= 8) {
      return this.node('Upsample', [x], { ...options, attributes: { mode: attr.string('nearest'), scales: attr.floats(scales) }, shape });
    }
    const scalesInput = this.constant(`${base}_scales`, [4], scales);
    if (this.opset === 9) return this.node('Upsample', [x, scalesInput], { ...options, attributes: { mode: attr.string('nearest') }, shape });
    if (this.opset === 10) return this.node('Resize', [x, scalesInput], { ...options, attributes: { mode: attr.string('nearest') }, shape });
    const roi = this.opset >= 13 ? '' : this.constant(`${base}_roi`, [0], []);
    return this.node('Resize', [x, roi, scalesInput], {
      ...options,
      attributes: {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      },
      shape,
    });
  }

  // ---- elementwise ------------------------------------------------------------------------

  private unary(opType: string, x: string, options: NodeOptions): string {
    return this.node(opType, [x], { ...options, shape: this.shapeOf(x) });
  }

  relu(x: string, options: NodeOptions = {}): string { return this.unary('Relu', x, options); }
  tanh(x: string, options: NodeOptions = {}): string { return this.unary('Tanh', x, options); }
  sigmoid(x: string, options: NodeOptions = {}): string { return this.unary('Sigmoid', x, options); }
  identity(x: string, options: NodeOptions = {}): string { return this.unary('Identity', x, options); }

  private binary(opType: string, a: Operand, b: Operand, options: NodeOptions): string {
    const base = this.baseName(opType, options);
    const ta = this.operand(a, `${base}_a`);
    const tb = this.operand(b, `${base}_b`);
    return this.node(opType, [ta, tb], { ...options, shape: broadcastShapes(this.shapeOf(ta), this.shapeOf(tb)) });
  }

  add(a: Operand, b: Operand, options: NodeOptions = {}): string { return this.binary('Add', a, b, options); }
  sub(a: Operand, b: Operand, options: NodeOptions = {}): string { return this.binary('Sub', a, b, options); }
  mul(a: Operand, b: Operand, options: NodeOptions = {}): string { return this.binary('Mul', a, b, options); }
  div(a: Operand, b: Operand, options: NodeOptions = {}): string { return this.binary('Div', a, b, options); }

  // ---- result -----------------------------------------------------------------------------

  build(): ModelSpec {
    const o = this.options;
    const graphIo = new Set([...this.inputs, ...this.outputs].map((v) => v.name));
    const initNames = new Set(this.inits.map((i) => i.name));
    const valueInfo: ValueInfo[] = [];
    if (o.valueInfo !== false) {
      for (const node of this.nodes) {
        for (const t of node.outputs) {
          const shape = this.shapes.get(t);
          if (shape && !graphIo.has(t) && !initNames.has(t)) valueInfo.push({ name: t, dtype: this.dtypes.get(t) ?? 'float32', shape });
        }
      }
    }
    const initInputs: ValueInfo[] = o.initializersAsInputs
      ? this.inits.map((i) => ({ name: i.name, dtype: i.tensor.dtype, shape: i.tensor.dims }))
      : [];
    return {
      name: o.name,
      ...(o.irVersion !== undefined ? { irVersion: o.irVersion } : {}),
      producer: o.producer ?? 'quantscope',
      opsets: { '': o.opset, ...(o.extraOpsets ?? {}) },
      inputs: [...this.inputs, ...initInputs],
      outputs: [...this.outputs],
      nodes: [...this.nodes],
      initializers: [...this.inits],
      ...(valueInfo.length > 0 ? { valueInfo } : {}),
    };
  }
}
