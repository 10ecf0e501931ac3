import type { AttrValue } from '../core/graph.js';
import type { Shape } from './shapes.js';

/** Attribute values and the option types of GraphBuilder (see builder.ts). */

export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  ints: (value: readonly number[]): AttrValue => ({ kind: 'ints', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  floats: (value: readonly number[]): AttrValue => ({ kind: 'floats', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
};

export interface BuilderOptions {
  readonly name: string;
  /** Default-domain opset version. */
  readonly opset: number;
  readonly seed?: number;
  readonly irVersion?: number;
  readonly producer?: string;
  /** Opsets of further domains (e.g. `{ 'com.microsoft': 1 }`). */
  readonly extraOpsets?: Readonly<Record<string, number>>;
  /** List every initializer as a graph input too, as IR version 3 models did. */
  readonly initializersAsInputs?: boolean;
  /** Emit value_info for intermediate tensors whose shape the builder knows (default true). */
  readonly valueInfo?: boolean;
}

export interface NodeOptions {
  /** Node name (made unique). */
  readonly name?: string;
  /** Output tensor name (must not be taken). */
  readonly out?: string;
}

export interface GenericNodeOptions extends NodeOptions {
  readonly attributes?: Readonly<Record<string, AttrValue>>;
  readonly domain?: string;
  /** The output's shape when known. */
  readonly shape?: Shape;
}

export interface ConvOptions extends NodeOptions {
  readonly stride?: number;
  readonly pad?: number;
  readonly group?: number;
  /** Multiplies the He-uniform weight limit. */
  readonly weightScale?: number;
  /** false: no bias input. Numbers: the bias values. Default: uniform ±1/√fanIn times weightScale. */
  readonly bias?: false | readonly number[];
  /** Edits the drawn weights in place; dims are [cout, cin/group, k, k] ([cin, cout/group, k, k] for ConvTranspose). */
  readonly editWeights?: (w: Float32Array, dims: Shape) => void;
  /** Edits the bias in place (after drawing). */
  readonly editBias?: (b: Float32Array) => void;
}

export interface ConvTransposeOptions extends ConvOptions {
  readonly outputPadding?: number;
}

export interface InstanceNormOptions extends NodeOptions {
  readonly epsilon?: number;
  /** Per-channel scale (γ); default ones. */
  readonly scale?: readonly number[];
  /** Per-channel bias (β); default zeros. */
  readonly bias?: readonly number[];
}

/** A tensor name, or a number that becomes a one-element float32 constant. */
export type Operand = string | number;
