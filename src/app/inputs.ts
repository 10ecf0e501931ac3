import { totalmem } from 'node:os';
import { closestNames, displayName } from '../core/closest.js';
import { bytesPerElement, parseDType, type DType } from '../core/dtype.js';
import { UserError } from '../core/errors.js';
import type { Dim, Graph, ValueInfo } from '../core/graph.js';
import { elementCount, formatDims, type Tensor } from '../core/tensor.js';
import { DEFAULT_PREPROCESS, isImageFile, readImage, type Layout, type Preprocess } from '../store/image.js';
import { sha256OfTensor, type InputEntry } from '../store/manifest.js';
import { pathExists } from '../store/files.js';
import { readTensorFile } from '../store/tensor-file.js';
import { assertFitsInMemory } from '../analysis/memory.js';
import { castFloats, synthesizeInput } from '../analysis/input-values.js';

/**
 * Model inputs from the command line (DESIGN.md §6).
 *
 * `--input` syntax:  `[NAME=]PATH[:DTYPE][[D0,D1,...]]`
 *   - NAME may be left out when the model has one input;
 *   - PATH is a tensor file (.npy, .pb, .bin/.raw, .txt) or an image (.png, .jpg, ...);
 *   - the optional suffix gives the dtype and/or shape of a .bin or .txt file, e.g.
 *     `x=frame.bin:uint8[1,480,640,3]`, `x=frame.bin:[1,3,4,4]` (dtype from the model) or
 *     `x=v.txt:int64`. Without it, .bin/.txt files take the model input's dtype and shape.
 * `--shape` syntax:  `NAME=1x3x224x224` fixes the dynamic dimensions of an input.
 *
 * Every real graph input gets a feed. Inputs without `--input` get a deterministic synthetic
 * tensor (see synthesizeInput) unless `synthesize: false`, in which case they are an error;
 * synthesizing needs every dimension known, from the model or `--shape`. A given tensor must match
 * the model's declared dtype and its known dimensions (and `--shape`, when given for that input).
 */

export interface InputSpec {
  /** Graph input name; undefined when the model has one input. */
  readonly name?: string;
  readonly path: string;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
}

export interface ResolveInputsOptions {
  /** Concrete shapes for inputs with dynamic dimensions (`--shape`). */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** How images are turned into tensors. */
  readonly preprocess?: Preprocess;
  /** Seed of the synthetic inputs; default 0. */
  readonly seed?: number;
  /** Synthesize inputs that no spec names; default true. */
  readonly synthesize?: boolean;
  /**
   * Files whose shapes fix the dynamic dimensions of inputs that are synthesized (the first
   * calibration sample, as `--input` values), when `--shape` does not.
   */
  readonly shapeFrom?: readonly InputSpec[];
}

export interface ResolvedInputs {
  readonly feeds: Map<string, Tensor>;
  /** One per graph input, in graph order; `sha256` is sha256OfTensor of the feed. */
  readonly sources: InputEntry[];
  /** One line each about a shape chosen for the user (a batch of 1, a shape taken from a file). */
  readonly notices: string[];
}

const SUFFIX = /:([A-Za-z][A-Za-z0-9]*)?(?:\[([^\]]*)\])?$/;

/** Parses an `--input` value (see the module comment). `inputNames` resolves names that contain '='. */
export function parseInputSpec(text: string, inputNames: readonly string[] = []): InputSpec {
  const fail = (why: string): never => {
    throw new UserError(`Bad --input value '${displayName(text, 200)}': ${why}.`);
  };
  let name: string | undefined;
  let rest = text;
  const known = [...inputNames].sort((a, b) => b.length - a.length).find((n) => text.startsWith(`${n}=`));
  if (known !== undefined) {
    name = known;
    rest = text.slice(known.length + 1);
  } else if (text.includes('=') && !pathExists(text)) {
    // An existing file whose name holds '=' is a path, not NAME=PATH.
    name = text.slice(0, text.indexOf('='));
    rest = text.slice(text.indexOf('=') + 1);
    if (name === '') fail('the name before = is empty');
  }
  let dtype: DType | undefined;
  let shape: number[] | undefined;
  const m = SUFFIX.exec(rest);
  if (m && (m[1] !== undefined || m[2] !== undefined)) {
    const parsed = m[1] === undefined ? undefined : parseDType(m[1]);
    // ':word' that is not a dtype and has no shape is left in the path (e.g. a file named 'a:b').
    if (m[1] === undefined || parsed !== undefined || m[2] !== undefined) {
      if (m[1] !== undefined && parsed === undefined) fail(`'${displayName(m[1], 40)}' is not a dtype`);
      dtype = parsed;
      if (m[2] !== undefined) shape = parseDims(m[2], (why) => fail(why));
      rest = rest.slice(0, m.index);
    }
  }
  if (rest === '') fail('the path is empty');
  return { name, path: rest, dtype, shape };
}

function parseDims(text: string, fail: (why: string) => never): number[] {
  const parts = text.split(/[,x\s]+/i).filter((s) => s !== '');
  const dims = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : fail(`'${displayName(p, 20)}' is not a dimension`)));
  if (dims.some((d) => !Number.isSafeInteger(d))) fail('a dimension is too large');
  return dims;
}

/** Parses a `--shape` value `NAME=1x3x224x224` (also `NAME=[1,3,224,224]`). */
export function parseShapeSpec(text: string): { name: string; shape: number[] } {
  const eq = text.lastIndexOf('=');
  const fail = (why: string): never => {
    throw new UserError(`Bad --shape value '${displayName(text, 200)}': ${why}.`);
  };
  if (eq <= 0) fail('expected NAME=1x3x224x224');
  const dims = text
    .slice(eq + 1)
    .trim()
    .replace(/^\[|\]$/g, '');
  return { name: text.slice(0, eq), shape: dims === '' ? [] : parseDims(dims, fail) };
}

/** Resolves every graph input to a tensor (see the module comment). */
export async function resolveInputs(
  graph: Graph,
  specs: readonly InputSpec[],
  options: ResolveInputsOptions = {},
): Promise<ResolvedInputs> {
  const inputs = new Map(graph.inputs.map((i) => [i.name, i]));
  const names = [...inputs.keys()];
  const unknown = (name: string, flag: string): never => {
    const close = closestNames(name, names).map((n) => `'${displayName(n)}'`);
    throw new UserError(
      `${flag} names '${displayName(name)}', which is not an input of the model (${close.length ? `closest: ${close.join(', ')}` : 'it has no inputs'}).`,
    );
  };
  for (const name of Object.keys(options.shapes ?? {})) if (!inputs.has(name)) unknown(name, '--shape');

  const given = new Map<string, InputSpec>();
  for (const spec of specs) {
    let name = spec.name;
    if (name === undefined) {
      if (names.length !== 1) {
        throw new UserError(
          `--input '${displayName(spec.path)}' needs a NAME= prefix because the model has ${names.length} inputs: ${names.map((n) => `'${displayName(n)}'`).join(', ')}.`,
        );
      }
      name = names[0];
    }
    if (!inputs.has(name)) unknown(name, '--input');
    if (given.has(name)) throw new UserError(`Input '${displayName(name)}' is given twice with --input.`);
    given.set(name, spec);
  }

  const shapeFrom = new Map<string, InputSpec>();
  for (const spec of options.shapeFrom ?? []) {
    const name = spec.name ?? (names.length === 1 ? names[0] : undefined);
    if (name !== undefined && inputs.has(name) && !shapeFrom.has(name)) shapeFrom.set(name, spec);
  }

  const feeds = new Map<string, Tensor>();
  const sources: InputEntry[] = [];
  const notices: string[] = [];
  for (const info of graph.inputs) {
    const spec = given.get(info.name);
    let wanted = wantedShape(info, options.shapes?.[info.name]);
    const hint = shapeFrom.get(info.name);
    if (!spec && hint && !isConcrete(wanted)) {
      const sample = await loadInput(info, hint, wanted, options.preprocess);
      checkMatches(info, sample, wanted, hint.path);
      const dims = sample.dims;
      notices.push(
        `input '${displayName(info.name)}' is ${formatDims(wanted)}: using shape ${formatDims(dims)} from '${displayName(hint.path, 200)}' (give --shape to choose another)`,
      );
      wanted = dims;
    } else if (
      !spec &&
      wanted &&
      !isConcrete(wanted) &&
      wanted.length >= 2 &&
      typeof wanted[0] !== 'number' &&
      isConcrete(wanted.slice(1))
    ) {
      // Only the batch is dynamic: one sample, as other runtimes' tools assume.
      notices.push(
        `input '${displayName(info.name)}' has a dynamic batch dimension (shape ${formatDims(wanted)}): using batch 1 (give --shape ${displayName(info.name)}=${['N', ...wanted.slice(1)].join('x')} to choose)`,
      );
      wanted = [1, ...wanted.slice(1)];
    }
    let tensor: Tensor;
    let source: string;
    if (spec) {
      tensor = await loadInput(info, spec, wanted, options.preprocess);
      checkMatches(info, tensor, wanted, spec.path);
      source = spec.path;
    } else {
      if (options.synthesize === false) {
        throw new UserError(`Input '${displayName(info.name)}' has no --input; give one (synthetic inputs are turned off).`);
      }
      const dims = concreteDims(info, wanted);
      const seed = options.seed ?? 0;
      const dtype = info.dtype ?? 'float32';
      // The values are built in float64, then cast: 8 bytes per element plus the tensor itself.
      assertFitsInMemory(
        elementCount(dims) * (8 + bytesPerElement(dtype)),
        `The synthetic input '${displayName(info.name)}' of shape ${formatDims(dims)}`,
        totalmem(),
      );
      tensor = synthesizeInput(info.name, dtype, dims, seed);
      source = `synthetic (seed ${seed})`;
    }
    feeds.set(info.name, tensor);
    sources.push({ name: info.name, source, sha256: sha256OfTensor(tensor), shape: [...tensor.dims], dtype: tensor.dtype });
  }
  return { feeds, sources, notices };
}

function isConcrete(dims: readonly Dim[] | undefined): dims is readonly number[] {
  return dims !== undefined && dims.every((d) => typeof d === 'number');
}

/** The declared shape with `--shape` applied; `--shape` must agree with every declared number. */
function wantedShape(info: ValueInfo, override: readonly number[] | undefined): readonly Dim[] | undefined {
  if (override === undefined) return info.shape;
  const declared = info.shape;
  if (declared && (declared.length !== override.length || declared.some((d, i) => typeof d === 'number' && d !== override[i]))) {
    throw new UserError(
      `--shape ${displayName(info.name)}=${override.join('x')} does not fit input '${displayName(info.name)}', whose shape is ${formatDims(declared)}.`,
    );
  }
  return override;
}

function concreteDims(info: ValueInfo, wanted: readonly Dim[] | undefined): number[] {
  if (wanted && wanted.every((d) => typeof d === 'number')) return wanted as number[];
  const example = (wanted ?? []).map((d) => (typeof d === 'number' ? d : 1)).join('x') || '1x3x224x224';
  throw new UserError(
    `Input '${displayName(info.name)}' has dynamic dimensions (shape ${formatDims(wanted)}); give its shape with --shape ${displayName(info.name)}=${example} or a tensor with --input.`,
  );
}

function checkMatches(info: ValueInfo, tensor: Tensor, wanted: readonly Dim[] | undefined, file: string): void {
  if (info.dtype !== undefined && tensor.dtype !== info.dtype) {
    throw new UserError(`Input '${displayName(info.name)}' is ${info.dtype} but '${displayName(file, 400)}' holds ${tensor.dtype}.`);
  }
  if (wanted && (wanted.length !== tensor.dims.length || wanted.some((d, i) => typeof d === 'number' && d !== tensor.dims[i]))) {
    throw new UserError(
      `Input '${displayName(info.name)}' expects shape ${formatDims(wanted)} but '${displayName(file, 400)}' holds ${formatDims(tensor.dims)}.`,
    );
  }
}

async function loadInput(
  info: ValueInfo,
  spec: InputSpec,
  wanted: readonly Dim[] | undefined,
  preprocess: Preprocess | undefined,
): Promise<Tensor> {
  if (isImageFile(spec.path)) return loadImage(info, spec.path, wanted, preprocess);
  const known = wanted && wanted.every((d) => typeof d === 'number') ? (wanted as number[]) : undefined;
  const raw = /\.(bin|raw|txt)$/i.test(spec.path);
  return readTensorFile(spec.path, {
    dtype: spec.dtype ?? (raw ? info.dtype : undefined),
    shape: spec.shape ?? (raw ? known : undefined),
  });
}

async function loadImage(
  info: ValueInfo,
  file: string,
  wanted: readonly Dim[] | undefined,
  preprocess: Preprocess | undefined,
): Promise<Tensor> {
  const pre = preprocess ?? DEFAULT_PREPROCESS;
  if (wanted && wanted.length !== 4) {
    throw new UserError(
      `Input '${displayName(info.name)}' has shape ${formatDims(wanted)}, which is not an image layout; give a tensor file instead of image '${displayName(file, 400)}'.`,
    );
  }
  const layout: Layout = pre.layout ?? inferLayout(wanted);
  const [c, h, w] = layout === 'NCHW' ? [wanted?.[1], wanted?.[2], wanted?.[3]] : [wanted?.[3], wanted?.[1], wanted?.[2]];
  if (typeof c === 'number' && c !== 1 && c !== 3) {
    throw new UserError(
      `Input '${displayName(info.name)}' has ${c} channels in layout ${layout}; an image gives 1 or 3 (set layout= in the preprocessing spec if the layout is wrong).`,
    );
  }
  const size: [number, number] | undefined = typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined;
  const image = await readImage(file, pre, { size, channels: c === 1 ? 1 : 3, layout });
  return castFloats(image.data as Float32Array, info.dtype ?? 'float32', image.dims, info.name);
}

/** NHWC when only the last dim looks like channels (1 or 3), else NCHW. */
export function inferLayout(dims: readonly Dim[] | undefined): Layout {
  if (!dims || dims.length !== 4) return 'NCHW';
  const isC = (d: Dim) => d === 1 || d === 3;
  return isC(dims[3]) && !isC(dims[1]) ? 'NHWC' : 'NCHW';
}
