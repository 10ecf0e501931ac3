import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openModel, type ModelContext } from '../../src/app/context.js';
import { synthesizeInput } from '../../src/analysis/input-values.js';
import { readModel } from '../../src/store/model-file.js';
import { graphOf } from '../../src/onnx/index.js';
import { writeTensorFile } from '../../src/store/tensor-file.js';
import { setUpQuant, type QuantSetup } from '../../src/app/quant-setup.js';
import { mulberry32 } from '../../src/models/random.js';
import type { Override } from '../../src/quant/plan.js';

/**
 * Writes `count` deterministic 32x32 RGB PNGs (a colour gradient plus noise, different per seed)
 * into `dir` and returns their paths: calibration images for the generated models, which read
 * pixel values 0..255 and resize them to their own input size.
 */
export async function writeCalibrationImages(dir: string, count: number, seed = 7): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let k = 0; k < count; k++) {
    const random = mulberry32(seed + k);
    const size = 32;
    const pixels = Buffer.alloc(size * size * 3);
    for (let i = 0; i < size * size; i++) {
      const x = (i % size) / size;
      const y = Math.floor(i / size) / size;
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(2 * Math.PI * (x * (1 + k) + (y * c) / 2 + k / 3)) + 30 * (random() - 0.5);
        pixels[i * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    const file = join(dir, `calib-${k}.png`);
    await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toFile(file);
    files.push(file);
  }
  return files;
}

/** Opens a model on its synthetic evaluation inputs and sets up a plan (calibration on `calib`). */
export async function openWithPlan(
  modelPath: string,
  options: {
    profile?: string;
    overrides?: readonly Override[];
    calib?: readonly string[];
    inputs?: readonly string[];
    preprocess?: string;
  },
): Promise<{ ctx: ModelContext; setup: QuantSetup }> {
  const ctx = await openModel({ modelPath, inputs: options.inputs, preprocess: options.preprocess });
  const setup = await setUpQuant(ctx, { profile: options.profile, overrides: options.overrides, calib: options.calib });
  return { ctx, setup };
}

/**
 * Writes synthetic inputs of a model for the given seeds as .npy files, `<input>-<seed>.npy` in
 * `dir`, and returns `--calib` values (`NAME=PATH`): calibration data of the same kind as the
 * synthetic evaluation inputs (seed 0) but never the same samples.
 */
export function writeSyntheticCalibration(modelPath: string, dir: string, seeds: readonly number[]): string[] {
  mkdirSync(dir, { recursive: true });
  const graph = graphOf(readModel(modelPath));
  const values: string[] = [];
  for (const input of graph.inputs) {
    const dims = (input.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
    for (const seed of seeds) {
      const file = join(dir, `${input.name}-${seed}.npy`);
      writeTensorFile(file, synthesizeInput(input.name, input.dtype ?? 'float32', dims, seed));
      values.push(`${input.name}=${file}`);
    }
  }
  return values;
}
