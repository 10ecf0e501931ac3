import { closestNames, displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import { intAttr, type GraphNode } from '../core/graph.js';
import genericInt8 from './profiles/generic-int8.json' with { type: 'json' };
import int8Fp16 from './profiles/int8-fp16.json' with { type: 'json' };

/**
 * A profile: the numeric behaviour of a target accelerator (DESIGN.md §4). Profiles are JSON
 * files; the built-in ones live in `src/quant/profiles/`, and a user may pass a path to their own.
 */

/**
 * A node's precision in a plan: `int8`, `a16w8` (16-bit activations, 8-bit weights) or `int16`
 * for quantized ops, `fp16`/`fp32` for float ops. From cheap to dear: a16w8 doubles an INT8
 * multiply's activation width and keeps the weights' bytes; int16 widens both (its weights take
 * the profile's `weights.int16Bits`, so a profile with 8 there makes int16 the same as a16w8).
 */
export type Precision = 'int8' | 'a16w8' | 'int16' | 'fp16' | 'fp32';
export const PRECISIONS: readonly Precision[] = ['int8', 'a16w8', 'int16', 'fp16', 'fp32'];

/** The precisions of quantized ops. */
export type QuantPrecision = 'int8' | 'a16w8' | 'int16';

export function isQuantPrecision(p: Precision | undefined): p is QuantPrecision {
  return p === 'int8' || p === 'a16w8' || p === 'int16';
}

/** The integer format a quantized precision stores its activations in: a16w8 stores them as int16. */
export function activationStorage(p: QuantPrecision): 'int8' | 'int16' {
  return p === 'int8' ? 'int8' : 'int16';
}

export interface WeightPolicy {
  /** `per-channel`: one scale per output channel (axis 0 for Conv, 1 for ConvTranspose, see weightLayout). */
  readonly granularity: 'per-channel' | 'per-tensor';
  readonly symmetric: boolean;
  /** Weight bits of a node planned `int16`: 16 (W16A16, the default) or 8 (W8A16). */
  readonly int16Bits: 8 | 16;
}

export interface ActivationPolicy {
  readonly granularity: 'per-tensor';
  /** Symmetry of `int8` activations. */
  readonly symmetric: boolean;
  /** Symmetry of `int16` activations (default true: zero point 0, as the com.microsoft int16 Q/DQ are used). */
  readonly int16Symmetric: boolean;
}

export interface Profile {
  readonly name: string;
  readonly description: string;
  /** What loadProfile (store/profile-file.ts) was given: a built-in name, or the absolute path of a profile file. Plan files store it. */
  readonly source: string;
  /** Op types (default ONNX domain) that run quantized; every other op is a float op. */
  readonly quantizedOps: readonly string[];
  readonly weights: WeightPolicy;
  readonly activations: ActivationPolicy;
  /**
   * `int32`: a quantized op's bias is stored as int32 with scale input_scale × weight_scale (per
   * output channel), which is what onnxruntime's fused QDQ Conv/Gemm kernels expect.
   * `float`: the bias is left as a float32 initializer and added in float.
   */
  readonly bias: 'int32' | 'float';
  /** Default precision of every op that is not quantized. */
  readonly floatOps: 'fp32' | 'fp16';
  /**
   * Op chains the device runs as one kernel (DESIGN.md §4), each at least two op types long, for
   * example `["Conv","InstanceNormalization","Relu"]`. See fusionGroups for how they are matched.
   */
  readonly fusion: readonly (readonly string[])[];
  /**
   * Precision of the running sum of reductions (REDUCTION_OPS) planned at `fp16`: `fp16` (default)
   * holds the sum to the fp16 range, so a Mean whose sum overflows becomes infinite as on the
   * device; `fp32` accumulates in fp32 and rounds only the result. Reductions at `fp32` always
   * accumulate in fp32.
   */
  readonly reduceAccumulation: 'fp16' | 'fp32';
  /**
   * The device's relative cost of one multiply-accumulate of an op type at each precision (for
   * example INT16 convolution = 4 × INT8 on a given chip), when the profile gives it: fix then
   * orders its candidates by what a promotion costs the device, and plans report the device cost
   * beside the MAC and weight shares. `*` holds every precision; an op type's entry may override
   * some of them.
   */
  readonly cost?: DeviceCostTable;
}

/** Op type (or `*`) → precision → relative cost per multiply-accumulate. */
export type DeviceCostTable = Readonly<Record<string, Readonly<Partial<Record<Precision, number>>>>>;

/** The device's cost per MAC of `opType` at `precision` under a cost table. */
export function costRate(table: DeviceCostTable, opType: string, precision: Precision): number {
  const own = Object.prototype.hasOwnProperty.call(table, opType) ? table[opType][precision] : undefined;
  return own ?? (table['*'][precision] as number);
}

/** The reductions whose accumulation `reduceAccumulation` governs. */
export const REDUCTION_OPS: readonly string[] = ['ReduceMean', 'ReduceSum', 'GlobalAveragePool'];

const BUILTIN: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ['generic-int8', genericInt8],
  ['int8-fp16', int8Fp16],
]);

export function builtinProfiles(): string[] {
  return [...BUILTIN.keys()];
}

/** A profile argument names a file when it has a path separator or ends in `.json`; otherwise a built-in. */
export function isProfilePath(nameOrPath: string): boolean {
  return nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.toLowerCase().endsWith('.json');
}

/**
 * A built-in profile by name; an unknown name is a UserError listing the built-ins. Profile files
 * are read by store/profile-file.ts loadProfile.
 */
export function builtinProfile(name: string): Profile {
  const json = BUILTIN.get(name);
  if (json === undefined) {
    const near = closestNames(name, BUILTIN.keys(), 1);
    throw new UserError(
      `Unknown profile '${displayName(name)}'${near.length ? ` (did you mean '${near[0]}'?)` : ''}; the built-in profiles are ${builtinProfiles().join(', ')}, and a profile file's path must end in .json.`,
    );
  }
  return parseProfile(json, name, name);
}

type Obj = Record<string, unknown>;

/**
 * Validates a parsed profile. `source` is recorded in the profile and named in errors;
 * `defaultName` is used when the JSON has no `name`. Unknown fields are errors (a misspelt field
 * would otherwise be silently ignored); keys starting with `$` (such as `$comment`) are allowed.
 */
export function parseProfile(json: unknown, source: string, defaultName: string): Profile {
  const label = `Profile '${displayName(source)}'`;
  const fail = (field: string, must: string, got?: unknown): never => {
    const shown = got === undefined ? '' : `, not ${describe(got)}`;
    throw new UserError(`${label}: field '${field}' ${must}${shown}.`);
  };
  const object = (value: unknown, field: string): Obj => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return fail(field, 'must be an object', value);
    }
    return value as Obj;
  };
  const known = (obj: Obj, prefix: string, keys: readonly string[]): void => {
    for (const key of Object.keys(obj)) {
      if (key.startsWith('$') || keys.includes(key)) continue;
      const near = closestNames(key, keys, 1);
      throw new UserError(
        `${label}: field '${prefix}${displayName(key)}' is not a profile field${near.length ? ` (did you mean '${prefix}${near[0]}'?)` : ''}.`,
      );
    }
  };
  const oneOf = <T extends string | number | boolean>(obj: Obj, key: string, field: string, values: readonly T[], fallback?: T): T => {
    const value = obj[key];
    if (value === undefined && fallback !== undefined) return fallback;
    if (!values.includes(value as T)) {
      const choices = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
      const must = value === undefined ? `is missing; it must be ${orList(choices)}` : `must be ${orList(choices)}`;
      return fail(field, must, value);
    }
    return value as T;
  };
  const opList = (value: unknown, field: string, minLength: number): string[] => {
    if (!Array.isArray(value)) return fail(field, 'must be an array of op types', value);
    if (value.length < minLength) fail(field, `must list at least ${minLength} op types`);
    return value.map((op, i) => {
      if (typeof op !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(op)) {
        return fail(`${field}[${i}]`, 'must be an ONNX op type such as "Conv"', op);
      }
      return op;
    });
  };

  const root = object(json, '(root)');
  known(root, '', [
    'name',
    'description',
    'quantizedOps',
    'weights',
    'activations',
    'bias',
    'floatOps',
    'fusion',
    'reduceAccumulation',
    'cost',
  ]);
  const name = root.name === undefined ? defaultName : root.name;
  if (typeof name !== 'string' || name.trim() === '') fail('name', 'must be a non-empty string', name);
  const description = root.description ?? '';
  if (typeof description !== 'string') fail('description', 'must be a string', description);
  if (root.quantizedOps === undefined) fail('quantizedOps', 'is missing; it must list the quantized op types');
  const quantizedOps = [...new Set(opList(root.quantizedOps, 'quantizedOps', 0))];

  if (root.weights === undefined) fail('weights', 'is missing');
  const w = object(root.weights, 'weights');
  known(w, 'weights.', ['granularity', 'symmetric', 'int16Bits']);
  const weights: WeightPolicy = Object.freeze({
    granularity: oneOf(w, 'granularity', 'weights.granularity', ['per-channel', 'per-tensor'] as const),
    symmetric: oneOf(w, 'symmetric', 'weights.symmetric', [true, false]),
    int16Bits: oneOf(w, 'int16Bits', 'weights.int16Bits', [16, 8] as const, 16),
  });

  if (root.activations === undefined) fail('activations', 'is missing');
  const a = object(root.activations, 'activations');
  known(a, 'activations.', ['granularity', 'symmetric', 'int16Symmetric']);
  const activations: ActivationPolicy = Object.freeze({
    granularity: oneOf(a, 'granularity', 'activations.granularity', ['per-tensor'] as const, 'per-tensor'),
    symmetric: oneOf(a, 'symmetric', 'activations.symmetric', [true, false]),
    int16Symmetric: oneOf(a, 'int16Symmetric', 'activations.int16Symmetric', [true, false], true),
  });

  const bias = oneOf(root, 'bias', 'bias', ['int32', 'float'] as const);
  const floatOps = oneOf(root, 'floatOps', 'floatOps', ['fp32', 'fp16'] as const);
  const reduceAccumulation = oneOf(root, 'reduceAccumulation', 'reduceAccumulation', ['fp16', 'fp32'] as const, 'fp16');
  const fusionJson = root.fusion ?? [];
  if (!Array.isArray(fusionJson)) fail('fusion', 'must be an array of op-type chains such as ["Conv","Relu"]', fusionJson);
  const fusion = (fusionJson as unknown[]).map((chain, i) => Object.freeze(opList(chain, `fusion[${i}]`, 2)));
  let cost: DeviceCostTable | undefined;
  if (root.cost !== undefined) {
    const table = object(root.cost, 'cost');
    if (table['*'] === undefined) fail('cost', "needs a '*' entry giving the cost per MAC at every precision");
    const entries: Record<string, Partial<Record<Precision, number>>> = {};
    for (const [op, value] of Object.entries(table)) {
      if (op.startsWith('$')) continue;
      if (op !== '*' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(op)) fail(`cost.${displayName(op)}`, "must be named by an ONNX op type or '*'");
      const rates = object(value, `cost.${op}`);
      known(rates, `cost.${op}.`, PRECISIONS);
      const entry: Partial<Record<Precision, number>> = {};
      for (const precision of PRECISIONS) {
        const r = rates[precision];
        if (r === undefined) {
          if (op === '*') fail(`cost.*.${precision}`, 'is missing; the * entry gives every precision');
          continue;
        }
        if (typeof r !== 'number' || !(r > 0) || !Number.isFinite(r)) fail(`cost.${op}.${precision}`, 'must be a positive number', r);
        entry[precision] = r as number;
      }
      entries[op] = Object.freeze(entry);
    }
    cost = Object.freeze(entries);
  }

  return Object.freeze({
    name: name as string,
    description: description as string,
    source,
    quantizedOps: Object.freeze(quantizedOps),
    weights,
    activations,
    bias,
    floatOps,
    fusion: Object.freeze(fusion),
    reduceAccumulation,
    ...(cost ? { cost } : {}),
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${displayName(value, 40)}'`;
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Whether the profile quantizes this node: its op type is listed and it is in the default ONNX domain. */
export function isQuantizedOp(profile: Profile, node: GraphNode): boolean {
  return (node.domain === '' || node.domain === 'ai.onnx') && profile.quantizedOps.includes(node.opType);
}

/** How the activations of a quantized node at `precision` are quantized. */
export function activationQuant(profile: Profile, precision: QuantPrecision): { bits: 8 | 16; symmetric: boolean } {
  return precision !== 'int8'
    ? { bits: 16, symmetric: profile.activations.int16Symmetric }
    : { bits: 8, symmetric: profile.activations.symmetric };
}

/** How the weights of a quantized node at `precision` are quantized. */
export function weightQuant(
  profile: Profile,
  precision: QuantPrecision,
): { bits: 8 | 16; symmetric: boolean; granularity: 'per-channel' | 'per-tensor' } {
  return {
    bits: precision === 'int16' ? profile.weights.int16Bits : 8,
    symmetric: profile.weights.symmetric,
    granularity: profile.weights.granularity,
  };
}

/**
 * Where a quantizable op keeps its weights: the input index of the weight and of the bias (null
 * when the op has none), and the weight's output-channel axis for per-channel quantization.
 *
 * | op | weight | bias | axis |
 * |---|---|---|---|
 * | Conv | 1, [M, C/g, k...] | 2 | 0 |
 * | ConvTranspose | 1, [C, M/g, k...] | 2 | 1 (with group > 1 one scale covers one index of M/g in every group) |
 * | MatMul | 1, [..., K, N] | none | rank − 1 (`weightRank` needed; −1 when unknown) |
 * | Gemm | 1 (B) | 2 (C) | 0 when transB = 1, else 1 |
 *
 * Null for other ops: they have no weights, every input is an activation. The weight input is a
 * weight only when it is an initializer; a MatMul of two activations quantizes both as activations.
 */
export function weightLayout(node: GraphNode, weightRank?: number): { weight: number; bias: number | null; axis: number } | null {
  switch (node.opType) {
    case 'Conv':
      return { weight: 1, bias: 2, axis: 0 };
    case 'ConvTranspose':
      return { weight: 1, bias: 2, axis: 1 };
    case 'MatMul':
      return { weight: 1, bias: null, axis: weightRank === undefined ? -1 : weightRank - 1 };
    case 'Gemm':
      return { weight: 1, bias: 2, axis: intAttr(node, 'transB', 0) === 1 ? 0 : 1 };
    default:
      return null;
  }
}
