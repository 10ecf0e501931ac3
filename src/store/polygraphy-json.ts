import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { tensorFileName } from './file-names.js';
import { parseNpy, writeNpy } from './npy.js';

/**
 * Polygraphy's saved outputs (`polygraphy run … --save-outputs out.json`): a RunResults object,
 * as polygraphy/comparator/struct.py and polygraphy/json/serde.py encode it (NVIDIA/TensorRT,
 * tools/Polygraphy):
 *
 *   { "lst": [ [runnerName, [ IterationResult, … ]], … ], "polygraphy_class": "RunResults" }
 *   IterationResult: { "outputs": { name: LazyNumpyArray | ndarray }, "runtime", "runner_name", … }
 *   LazyNumpyArray:  { "values": ndarray, "polygraphy_class": "LazyNumpyArray" }
 *   ndarray:         { "array": base64 of the array's .npy bytes (np.save), "polygraphy_class": "ndarray" }
 *
 * Older files put the ndarray straight under the output name. One runner and one iteration are
 * read: `FILE.json#RUNNER` picks the runner whose name is or starts with RUNNER (default the first),
 * and the first iteration is used.
 */

export interface PolygraphyOutputs {
  readonly runner: string;
  readonly runners: readonly string[];
  readonly iterations: number;
  readonly tensors: ReadonlyMap<string, Tensor>;
}

/** Whether a `--ref`/`--test` value names a Polygraphy outputs file (`.json`, with an optional `#runner`). */
export function isPolygraphyPath(value: string): boolean {
  return /\.json(#.*)?$/i.test(value);
}

/** Splits `FILE.json#RUNNER` into the file and the runner (undefined without '#'). */
export function polygraphyPathParts(value: string): { file: string; runner?: string } {
  const hash = value.search(/\.json#/i);
  if (hash < 0) return { file: value };
  return { file: value.slice(0, hash + 5), runner: value.slice(hash + 6) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An encoded ndarray (or a LazyNumpyArray around one) as a tensor. */
function decodeArray(value: unknown, where: string, fail: (why: string) => never): Tensor {
  const inner = isObject(value) && isObject(value.values) ? value.values : value;
  if (!isObject(inner) || typeof inner.array !== 'string') fail(`${where} is not an encoded NumPy array`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(Buffer.from(inner.array as string, 'base64'));
  } catch (error) {
    fail(`${where} is not base64 (${messageOf(error)})`);
  }
  return parseNpy(bytes!, where);
}

export function readPolygraphyOutputs(value: string): PolygraphyOutputs {
  const { file, runner } = polygraphyPathParts(value);
  const label = `Polygraphy outputs '${displayName(file, 400)}'`;
  const fail = (why: string): never => {
    throw new UserError(`${label}: ${why}.`);
  };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${label} cannot be read as JSON (${displayName(messageOf(error), 200)}).`, { cause: error });
  }
  if (!isObject(json) || !Array.isArray(json.lst)) fail('it is not a RunResults object (no "lst" list of runners)');
  const lst = (json as { lst: unknown[] }).lst;
  const runners = lst.map((entry, k) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !Array.isArray(entry[1])) {
      fail(`runner ${k} is not a [name, iterations] pair`);
    }
    return { name: (entry as [string, unknown[]])[0], iterations: (entry as [string, unknown[]])[1] };
  });
  if (runners.length === 0) fail('it holds no runner');
  const chosen =
    runner === undefined ? runners[0] : (runners.find((r) => r.name === runner) ?? runners.find((r) => r.name.startsWith(runner)));
  if (!chosen) {
    fail(
      `no runner is named or starts with '${displayName(runner ?? '')}' (runners: ${runners.map((r) => `'${displayName(r.name)}'`).join(', ')})`,
    );
  }
  const first = chosen!.iterations[0];
  if (!isObject(first) || !isObject(first.outputs)) fail(`runner '${displayName(chosen!.name)}' has no iteration with outputs`);
  const tensors = new Map<string, Tensor>();
  for (const [name, encoded] of Object.entries((first as { outputs: Record<string, unknown> }).outputs)) {
    if (name === 'polygraphy_class') continue;
    tensors.set(name, decodeArray(encoded, `output '${displayName(name)}' of runner '${displayName(chosen!.name)}'`, fail));
  }
  return { runner: chosen!.name, runners: runners.map((r) => r.name), iterations: chosen!.iterations.length, tensors };
}

/**
 * The outputs of a Polygraphy file as a dump directory of `.npy` files named as quantscope names
 * tensor files (`<sanitized>-<hash>.npy`), in a temporary directory, so that every dump reader
 * and pairing rule applies. `remove()` deletes it.
 */
export function polygraphyDumpDirectory(value: string): { dir: string; outputs: PolygraphyOutputs; remove: () => void } {
  const outputs = readPolygraphyOutputs(value);
  const dir = mkdtempSync(join(tmpdir(), 'quantscope-polygraphy-'));
  try {
    for (const [name, tensor] of outputs.tensors) writeNpy(join(dir, tensorFileName(name, '.npy')), tensor, { fsync: false });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, outputs, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
