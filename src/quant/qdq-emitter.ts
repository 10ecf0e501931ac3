import type { AttrValue } from '../core/graph.js';
import { makeTensor, type Tensor } from '../core/tensor.js';
import type { NodeSpec } from '../onnx/index.js';
import type { NameAllocator } from './qdq-names.js';
import type { PerChannelParams, QuantParams } from './qparams.js';

const FLOAT16 = 10;
const FLOAT = 1;

/**
 * Collects the nodes and initializers a rewrite adds, with the Q/DQ operators of one domain:
 * the default domain from opset 21 (int16 Q/DQ exist there), `com.microsoft` below it (whose
 * Q/DQ onnxruntime supports for int8, uint8, int16 and uint16, per tensor and per axis).
 */
export class QdqEmitter {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: { name: string; tensor: Tensor }[] = [];

  constructor(
    private readonly names: NameAllocator,
    readonly qdqDomain: '' | 'com.microsoft',
  ) {}

  initializer(base: string, tensor: Tensor): string {
    const name = this.names.fresh(base);
    this.initializers.push({ name, tensor });
    return name;
  }

  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Record<string, AttrValue> = {},
    domain = '',
  ): void {
    this.nodes.push({ name: this.names.fresh(`${outputs[0]}__${opType}`), opType, domain, inputs, outputs, attributes });
  }

  /** Scale and zero point initializers: scalars per tensor, 1-D per axis. */
  private params(base: string, p: QuantParams | PerChannelParams): { scale: string; zeroPoint: string; axis: number | null } {
    const zpType = p.bits === 8 ? (p.signed ? 'int8' : 'uint8') : p.signed ? 'int16' : 'uint16';
    const zpArray = (values: ArrayLike<number>) =>
      p.bits === 8
        ? p.signed
          ? Int8Array.from(values)
          : Uint8Array.from(values)
        : p.signed
          ? Int16Array.from(values)
          : Uint16Array.from(values);
    if ('scales' in p) {
      const n = p.scales.length;
      return {
        scale: this.initializer(`${base}__scale`, makeTensor('float32', [n], Float32Array.from(p.scales))),
        zeroPoint: this.initializer(`${base}__zero_point`, makeTensor(zpType, [n], zpArray(p.zeroPoints))),
        axis: p.axis,
      };
    }
    return {
      scale: this.initializer(`${base}__scale`, makeTensor('float32', [], Float32Array.of(p.scale))),
      zeroPoint: this.initializer(`${base}__zero_point`, makeTensor(zpType, [], zpArray([p.zeroPoint]))),
      axis: null,
    };
  }

  /** QuantizeLinear then DequantizeLinear of a float tensor; writes `output`. */
  quantizeDequantize(input: string, output: string, p: QuantParams): void {
    const { scale, zeroPoint } = this.params(output, p);
    const q = this.names.fresh(`${output}__q`);
    this.node('QuantizeLinear', [input, scale, zeroPoint], [q], {}, this.qdqDomain);
    this.node('DequantizeLinear', [q, scale, zeroPoint], [output], {}, this.qdqDomain);
  }

  /** A stored integer tensor (weights, int32 bias) and the DequantizeLinear that reads it; returns the float tensor's name. */
  dequantizeInitializer(
    base: string,
    quantized: Tensor,
    p: QuantParams | PerChannelParams | { scales: Float32Array; axis: number | null; int32: true },
  ): string {
    const q = this.initializer(`${base}__quantized`, quantized);
    let scale: string;
    let zeroPoint: string;
    let axis: number | null;
    if ('int32' in p) {
      const n = p.scales.length;
      const dims = p.axis === null ? [] : [n];
      scale = this.initializer(`${base}__scale`, makeTensor('float32', dims, Float32Array.from(p.scales)));
      zeroPoint = this.initializer(`${base}__zero_point`, makeTensor('int32', dims, new Int32Array(p.axis === null ? 1 : n)));
      axis = p.axis;
    } else {
      ({ scale, zeroPoint, axis } = this.params(base, p));
    }
    const out = this.names.fresh(`${base}__dequantized`);
    this.node(
      'DequantizeLinear',
      [q, scale, zeroPoint],
      [out],
      axis === null ? {} : { axis: { kind: 'int', value: axis } },
      this.qdqDomain,
    );
    return out;
  }

  /** Cast to float16 and back: the value an fp16 tensor holds (|x| > 65504 becomes infinite). */
  roundThroughHalf(input: string, output: string): void {
    const half = this.names.fresh(`${output}__fp16`);
    this.node('Cast', [input], [half], { to: { kind: 'int', value: FLOAT16 } });
    this.node('Cast', [half], [output], { to: { kind: 'int', value: FLOAT } });
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }
}
