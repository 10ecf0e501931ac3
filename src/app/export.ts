import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import { assignedNodeNames } from '../onnx/index.js';
import { ortExport } from '../quant/export-ort.js';
import { DEFAULT_RKNN_PLATFORM, RKNN_PLATFORMS, rknnExport, type RknnPlatform } from '../quant/export-rknn.js';
import { tensorRtExport } from '../quant/export-tensorrt.js';
import { readPlanFile } from '../store/plan-file.js';
import { resolvePlan, type Plan } from '../quant/plan.js';
import { EXPORT_TARGETS, type ExportSource, type ExportTarget, type PrecisionMapping } from '../quant/plan-export.js';
import { loadProfile } from '../store/profile-file.js';
import { ortExportFiles } from '../store/plan-export-ort.js';
import { rknnExportFiles } from '../store/plan-export-rknn.js';
import { tensorRtExportFiles } from '../store/plan-export-tensorrt.js';
import { writeExportFiles, type ExportFile } from '../store/plan-export-write.js';
import { loadModel } from './load-model.js';

export interface ExportOptions {
  /** The plan file (`quantscope fix --out`, or written by hand). */
  readonly planFile: string;
  /** The model the plan is for: exports need its node and tensor names (a plan file does not record its model). */
  readonly model: string;
  readonly target: ExportTarget;
  /** The main file to write; default beside the plan (exportFileFor). */
  readonly out?: string;
  /** `--profile`: overrides the plan file's. */
  readonly profile?: string;
  /** RKNN target platform (default rk3588); only for `rknn`. */
  readonly platform?: string;
}

export interface ExportResult {
  readonly target: ExportTarget;
  /** Every file written, the main one first. */
  readonly files: readonly string[];
  readonly mapping: readonly PrecisionMapping[];
  readonly notes: readonly string[];
  /** How many nodes, tensors or layers the export names. */
  readonly entries: number;
  readonly plan: Plan;
}

const SUFFIX: Readonly<Record<ExportTarget, string>> = {
  'ort-overrides': '.ort-overrides.json',
  tensorrt: '.trtexec.sh',
  rknn: '.rknn.yaml',
};

/** The default main file: the plan's path without `.json` (and `.plan`), plus the target's suffix. */
export function exportFileFor(planFile: string, target: ExportTarget): string {
  const stem = planFile.replace(/\.json$/i, '').replace(/\.plan$/i, '');
  return `${stem}${SUFFIX[target]}`;
}

export function parseTarget(text: string): ExportTarget {
  if (!(EXPORT_TARGETS as readonly string[]).includes(text)) {
    throw new UserError(`--to '${displayName(text)}' is not one of ${EXPORT_TARGETS.join(', ')}.`);
  }
  return text as ExportTarget;
}

function parsePlatform(target: ExportTarget, text: string | undefined): RknnPlatform {
  if (text === undefined) return DEFAULT_RKNN_PLATFORM;
  if (target !== 'rknn') throw new UserError(`--platform applies to --to rknn only, not to --to ${target}.`);
  const lower = text.toLowerCase();
  if (!(RKNN_PLATFORMS as readonly string[]).includes(lower)) {
    throw new UserError(`--platform '${displayName(text)}' is not one of ${RKNN_PLATFORMS.join(', ')}.`);
  }
  return lower as RknnPlatform;
}

/**
 * Exports a plan as another toolchain's settings (`quantscope export`): resolves the plan on the
 * model, maps it for the target (quant/export-*.ts), and writes the files (store/plan-export-*.ts).
 * Nothing is written when the plan, model or options are at fault.
 */
export function exportPlan(options: ExportOptions): ExportResult {
  const platform = parsePlatform(options.target, options.platform);
  const planFile = readPlanFile(options.planFile);
  const loaded = loadModel(options.model);
  const profile = loadProfile(options.profile ?? planFile.profile);
  const plan = resolvePlan(loaded.graph, profile, planFile.overrides);
  const assigned = assignedNodeNames(loaded.model);
  const out = options.out ?? exportFileFor(options.planFile, options.target);
  const source: ExportSource = { model: path.resolve(options.model), plan: path.resolve(options.planFile), profile: profile.name };

  let files: ExportFile[];
  let common: { mapping: readonly PrecisionMapping[]; notes: readonly string[] };
  let entries: number;
  switch (options.target) {
    case 'ort-overrides': {
      const exp = ortExport(loaded.graph, plan, assigned);
      files = ortExportFiles(
        out,
        exp,
        source,
        loaded.graph.inputs.map((i) => i.name),
      );
      common = exp;
      entries = exp.quantizeStatic.extra_options.TensorQuantOverrides.length + exp.quantizeStatic.nodes_to_exclude.length;
      break;
    }
    case 'tensorrt': {
      const exp = tensorRtExport(loaded.graph, plan, assigned);
      files = tensorRtExportFiles(out, exp, source);
      common = exp;
      entries = exp.layers.length;
      break;
    }
    case 'rknn': {
      const exp = rknnExport(loaded.graph, plan, platform);
      files = rknnExportFiles(out, exp, source);
      common = exp;
      entries = exp.layers.length;
      break;
    }
  }
  for (const f of files) {
    for (const input of [options.planFile, options.model]) {
      if (path.resolve(f.path) === path.resolve(input)) {
        throw new UserError(`Writing '${displayName(f.path)}' would overwrite the input '${displayName(input)}'; choose another --out.`);
      }
    }
  }
  writeExportFiles(files);
  return { target: options.target, files: files.map((f) => f.path), mapping: common.mapping, notes: common.notes, entries, plan };
}
