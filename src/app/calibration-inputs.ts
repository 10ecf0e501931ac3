import { closestNames, displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { pathExists } from '../store/files.js';
import { expandInputPath } from '../store/input-files.js';
import type { ModelContext } from './context.js';
import { resolveInputs, type InputSpec } from './inputs.js';

/** One calibration sample: a feed for every model input, and where it came from. */
export interface CalibrationSample {
  readonly feeds: Map<string, Tensor>;
  readonly sources: readonly { name: string; source: string; sha256: string }[];
}

/**
 * The first sample of `--calib`/`--eval` values as `--input` values: each value's first file (a
 * folder's first supported file), one per named input. Opens a model whose inputs are given only
 * as an evaluation set.
 */
export function firstSampleInputs(values: readonly string[], what: 'Calibration' | 'Evaluation'): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    const named = eq > 0 && !pathExists(value) ? value.slice(0, eq) : '';
    if (seen.has(named)) continue;
    seen.add(named);
    const path = named ? value.slice(eq + 1) : value;
    out.push(named ? `${named}=${expandInputPath(path, what)[0]}` : expandInputPath(path, what)[0]);
  }
  return out;
}

/**
 * Turns `--calib` values into samples. `PATH` (a file or a folder) feeds the model's only input,
 * `NAME=PATH` a named input; sample i takes the i-th file of each named input, and inputs with no
 * calibration files get synthetic data seeded by i. Without any `--calib`, the evaluation inputs
 * are the one sample.
 */
export async function calibrationSamples(
  ctx: ModelContext,
  calib: readonly string[],
  what: 'Calibration' | 'Evaluation' = 'Calibration',
): Promise<CalibrationSample[]> {
  const flag = what === 'Calibration' ? '--calib' : '--eval';
  if (calib.length === 0)
    return [{ feeds: ctx.feeds, sources: ctx.sources.map((s) => ({ name: s.name, source: s.source, sha256: s.sha256 })) }];
  const names = ctx.graph.inputs.map((i) => i.name);
  const byInput = new Map<string, string[]>();
  for (const value of calib) {
    const named = names.find((n) => value.startsWith(`${n}=`));
    let name: string;
    let path: string;
    if (named !== undefined) {
      name = named;
      path = value.slice(named.length + 1);
    } else if (names.length === 1) {
      name = names[0];
      path = value;
    } else {
      const guess = value.includes('=') ? value.slice(0, value.indexOf('=')) : value;
      const close = closestNames(guess, names)
        .map((n) => `'${displayName(n)}'`)
        .join(', ');
      throw new UserError(`${flag} '${displayName(value)}' must name one of the model's inputs as NAME=PATH (inputs: ${close}).`);
    }
    byInput.set(name, [...(byInput.get(name) ?? []), ...expandInputPath(path, what)]);
  }
  const count = Math.max(...[...byInput.values()].map((f) => f.length));
  const samples: CalibrationSample[] = [];
  for (let i = 0; i < count; i++) {
    const specs: InputSpec[] = [];
    for (const [name, files] of byInput) specs.push({ name, path: files[i % files.length] });
    const { feeds, sources } = await resolveInputs(ctx.graph, specs, { shapes: ctx.shapes, preprocess: ctx.preprocess, seed: i + 1 });
    samples.push({ feeds, sources: sources.map((s) => ({ name: s.name, source: s.source, sha256: s.sha256 })) });
  }
  return samples;
}
