import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import { removeTempFile, renameTempFile, writeTempFile } from '../core/atomic-file.js';
import type { PlanCost } from '../quant/cost.js';
import { makeDirectory } from './directories.js';

/**
 * The three files `emit` writes (DESIGN.md §6), side by side:
 *
 *   <name>.<tag>.onnx            the QDQ model, runnable by onnxruntime
 *   <name>.<tag>.quant.json      every quantized tensor's bits, scale, zero point, axis and
 *                                calibrated range, and every node's precision (EmitQuantFile)
 *   <name>.<tag>.manifest.json   inputs and outputs, preprocessing, profile, plan summary and
 *                                cost, metrics reached, source model sha256 (EmitManifest)
 *
 * Writing is two-phase so that nothing half-written, and nothing unverified, ever sits under a
 * final name: `stageEmitModel` writes the model to a temporary name in the target directory
 * (flushed to disk), the caller verifies that file, then `commit` writes the two JSON files the
 * same way and renames all three into place, the model last; `discard` removes the temporaries.
 */

export const EMIT_SCHEMA_VERSION = 1;

export interface EmitPaths {
  readonly model: string;
  readonly quant: string;
  readonly manifest: string;
}

/** The three paths for a model file name, which must end in `.onnx`. */
export function emitPaths(modelFile: string): EmitPaths {
  if (!/\.onnx$/i.test(modelFile)) {
    throw new UserError(
      `--out '${displayName(modelFile)}' must name an .onnx file (the .quant.json and .manifest.json files are written beside it).`,
    );
  }
  const stem = modelFile.slice(0, -'.onnx'.length);
  return { model: modelFile, quant: `${stem}.quant.json`, manifest: `${stem}.manifest.json` };
}

/** The plan file `fix --emit` writes beside the model it emits: `<stem>.plan.json` for `<stem>.onnx`. */
export function planBeside(modelFile: string): string {
  return `${modelFile.replace(/\.onnx$/i, '')}.plan.json`;
}

/** The default emitted file: `<dir>/<name>.<tag>.onnx`, both parts made safe for a file name. */
export function defaultEmitFile(dir: string, modelName: string, tag: string): string {
  return path.join(dir, `${safePart(modelName)}.${safePart(tag)}.onnx`);
}

function safePart(text: string): string {
  const safe = text
    .replace(/[^A-Za-z0-9._-]/gu, '_')
    .replace(/^\.+/, '_')
    .slice(0, 100);
  return safe === '' ? '_' : safe;
}

/** One quantized tensor as quant.json lists it (the rewrite's record, scales as stored in float32). */
export interface EmitTensorEntry {
  readonly tensor: string;
  readonly kind: 'activation' | 'weight' | 'bias' | 'fp16';
  readonly node: string;
  readonly bits: 8 | 16 | 32;
  readonly signed: boolean;
  readonly scale: number | readonly number[] | null;
  readonly zeroPoint: number | readonly number[] | null;
  readonly axis: number | null;
  readonly range: { readonly min: number; readonly max: number } | null;
}

export interface EmitNodeEntry {
  readonly name: string;
  readonly opType: string;
  readonly precision: 'int8' | 'a16w8' | 'int16' | 'fp16' | 'fp32';
  /** The fusion group (its node names) the node runs in, when it is fused. */
  readonly fusedWith: readonly string[] | null;
}

export interface EmitQuantFile {
  readonly schemaVersion: 1;
  /** The emitted model's file name. */
  readonly model: string;
  readonly profile: string;
  /** Domain of the Q/DQ operators: '' (standard, opset 21 and later) or 'com.microsoft'. */
  readonly qdqDomain: '' | 'com.microsoft';
  readonly calibrationId: string;
  readonly tensors: readonly EmitTensorEntry[];
  readonly nodes: readonly EmitNodeEntry[];
}

export interface EmitIoEntry {
  readonly name: string;
  readonly shape: readonly (number | string | null)[] | null;
  readonly dtype: string | null;
  /** NCHW or NHWC for image-like rank-4 tensors, else null. */
  readonly layout: 'NCHW' | 'NHWC' | null;
}

export interface EmitManifest {
  readonly schemaVersion: 1;
  readonly tool: { readonly name: 'quantscope'; readonly version: string };
  readonly createdAt: string;
  readonly model: { readonly file: string; readonly sha256: string; readonly quantFile: string };
  readonly source: { readonly path: string; readonly sha256: string };
  readonly inputs: readonly EmitIoEntry[];
  readonly outputs: readonly EmitIoEntry[];
  /** The image preprocessing used for the evaluation and calibration inputs (null: tensors given as they are). */
  readonly preprocessing: unknown;
  readonly profile: { readonly name: string; readonly source: string; readonly description: string };
  readonly plan: unknown;
  /** The plan's share of MACs and weights above INT8 (quant/cost.ts). */
  readonly cost: PlanCost;
  readonly calibration: unknown;
  readonly evaluation: unknown;
  readonly verification: unknown;
  /** How to load the model in onnxruntime so it computes what was verified. */
  readonly runtime: unknown;
  readonly notes: readonly string[];
}

/** The model written under a temporary name; exactly one of commit and discard must follow. */
export interface StagedEmit {
  readonly paths: EmitPaths;
  /** The staged model file: verify this one before committing. */
  readonly stagedModel: string;
  /** Writes the two JSON files, then renames all three into place, the model last. */
  commit(quant: EmitQuantFile, manifest: EmitManifest): void;
  /** Removes everything staged. */
  discard(): void;
}

/** JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity" and "NaN". */
function jsonText(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}

/**
 * Writes the model to a temporary name beside its target (creating the directory). Every write
 * error removes whatever was staged and is a UserError naming the file.
 */
export function stageEmitModel(paths: EmitPaths, model: Uint8Array): StagedEmit {
  const staged: { temp: string; target: string }[] = [];
  const removeAll = (): void => {
    for (const s of staged) removeTempFile(s.temp);
  };
  const stage = (target: string, data: string | Uint8Array): string => {
    let temp: string;
    try {
      makeDirectory(path.dirname(path.resolve(target)));
      temp = writeTempFile(target, data);
    } catch (error) {
      removeAll();
      throw new UserError(`Cannot write '${displayName(target)}' (${messageOf(error)}).`, { cause: error });
    }
    staged.push({ temp, target });
    return temp;
  };
  const stagedModel = stage(paths.model, model);
  let settled = false;
  return {
    paths,
    stagedModel,
    commit: (quant, manifest) => {
      if (settled) return;
      settled = true;
      stage(paths.quant, jsonText(quant));
      stage(paths.manifest, jsonText(manifest));
      // The model goes last: its presence under the final name means the other two are there.
      for (const s of [...staged.slice(1), staged[0]]) {
        try {
          renameTempFile(s.temp, s.target);
        } catch (error) {
          removeAll();
          throw new UserError(`Cannot write '${displayName(s.target)}' (${messageOf(error)}).`, { cause: error });
        }
      }
    },
    discard: () => {
      if (settled) return;
      settled = true;
      removeAll();
    },
  };
}
