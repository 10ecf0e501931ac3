import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrate } from '../app/calibrate.js';
import { openModel, type ModelContext, type ModelInputOptions } from '../app/context.js';
import { setUpQuant, type QuantSetup } from '../app/quant-setup.js';
import { loadProfile } from '../store/profile-file.js';

/** The repository root (dist-tools/bench/ and src/bench/ are two levels below it). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The benchmark's build (tsconfig.tools.json): all of src/, the product with its tools. The CLI the
 * benchmark starts is the one compiled there, from the same sources and options as dist/'s.
 */
export const BUILT = join(REPO, 'dist-tools');
export const CLI = join(BUILT, 'cli', 'main.js');

export type BenchModelId = 'udnie' | 'demo' | 'wide-1000';

/** A model the benchmark measures, with its inputs as CLI flags and as app options. */
export interface BenchModel {
  readonly id: BenchModelId;
  /** Absolute path of the .onnx file. */
  readonly path: string;
  /** `--input`, `--shape`, `--preprocess` flags (without the model). */
  readonly inputArgs: readonly string[];
  /** `--calib` values; none: calibrate on the evaluation inputs. */
  readonly calib: readonly string[];
  /** Bisect threshold (cosine) at which the default plan's output fails, so bisect has work to do. */
  readonly bisectThreshold: number;
  readonly description: string;
}

/** The shared real-model directory: `--shared`, else ../shared beside the repository. */
export function sharedDir(given?: string): string {
  return resolve(given ?? join(REPO, '..', 'shared'));
}

export function udnieModel(shared: string): BenchModel | { readonly missing: string } {
  const path = join(shared, 'models', 'udnie.onnx');
  const images = ['fish_720.png', 'cat.jpg', 'dog.jpg', 'hummingbird.jpg'].map((f) => join(shared, 'images', f));
  const absent = [path, ...images].find((p) => !existsSync(p));
  if (absent) return { missing: absent };
  return {
    id: 'udnie',
    path,
    inputArgs: ['--input', `inputImage=${images[0]}`, '--preprocess', 'size=720x720'],
    calib: images.slice(1),
    // generic-int8 reaches output cosine ~0.9997 on fish_720: it fails 0.9999.
    bisectThreshold: 0.9999,
    description: 'udnie 720x720 (fish_720.png; calibrated on cat, dog, hummingbird)',
  };
}

export function demoModel(): BenchModel {
  return {
    id: 'demo',
    path: join(REPO, 'models', 'demo-generator.onnx'),
    inputArgs: [],
    calib: [],
    bisectThreshold: 0.99,
    description: 'demo generator 64x64 (synthetic inputs)',
  };
}

export function wideModel(): BenchModel {
  return {
    id: 'wide-1000',
    path: join(REPO, 'fixtures', 'wide-1000.onnx'),
    inputArgs: [],
    calib: [],
    // generic-int8 reaches output cosine ~0.999996 here: a stricter threshold gives bisect 1,000 candidates to search.
    bisectThreshold: 0.999999,
    description: 'wide-1000: 1,000 nodes on [1,4,4,4] (synthetic input)',
  };
}

/** The app options equivalent to `inputArgs`. */
export function inputOptions(model: BenchModel): ModelInputOptions {
  const inputs: string[] = [];
  let preprocess: string | undefined;
  for (let i = 0; i < model.inputArgs.length; i += 2) {
    const [flag, value] = [model.inputArgs[i], model.inputArgs[i + 1]];
    if (flag === '--input') inputs.push(value);
    else if (flag === '--preprocess') preprocess = value;
  }
  return { modelPath: model.path, inputs, preprocess };
}

/** A model opened with its calibration, for the in-process measurements. */
export interface PreparedModel {
  readonly model: BenchModel;
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** The calibration table as a file, for `--calibration` in child processes. */
  readonly calibrationFile: string;
}

/**
 * Opens the model and calibrates it once (from the calibration cache in `cache` when it is
 * there), writing the table to a file, so that no measured run includes calibration.
 */
export async function prepareModel(model: BenchModel, cache: string): Promise<PreparedModel> {
  process.env.QUANTSCOPE_CACHE = cache;
  mkdirSync(cache, { recursive: true });
  const ctx = await openModel(inputOptions(model));
  const calibrationFile = join(cache, `bench-${model.id}.calibration.json`);
  await calibrate({ ctx, profile: loadProfile('generic-int8'), calib: model.calib, out: calibrationFile });
  const quant = await setUpQuant(ctx, { calibrationFile });
  return { model, ctx, quant, calibrationFile };
}
