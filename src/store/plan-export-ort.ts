import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { OrtExport } from '../quant/export-ort.js';
import type { ExportSource } from '../quant/plan-export.js';
import type { ExportFile } from './plan-export-write.js';

/**
 * The onnxruntime export's two files:
 *
 *   <name>.json   { "$comment", "model", "plan", "profile", "quantize_static": { the arguments of
 *                 onnxruntime.quantization.quantize_static, extra_options with
 *                 TensorQuantOverrides }, "mapping", "notes" }; QuantType values are written by
 *                 name ("QInt16"), since JSON has no enums
 *   <name>.py     a script that reads the JSON, turns the names back into QuantType values and
 *                 calls quantize_static with calibration samples given on its command line
 *
 * The argument names and the TensorQuantOverrides layout are onnxruntime's (see quant/export-ort.ts
 * for where they are defined).
 */

export const ORT_EXPORT_FORMAT = 'quantscope-ort-overrides/1';

/** The JSON file and the script beside it; `jsonFile` must end in `.json`. */
export function ortExportPaths(jsonFile: string): { json: string; script: string } {
  if (!/\.json$/i.test(jsonFile)) {
    throw new UserError(
      `--out '${displayName(jsonFile)}' must name a .json file for --to ort-overrides (the .py script is written beside it).`,
    );
  }
  return { json: jsonFile, script: `${jsonFile.slice(0, -'.json'.length)}.py` };
}

export function formatOrtJson(exp: OrtExport, source: ExportSource): string {
  const q = exp.quantizeStatic;
  const doc = {
    $comment:
      'Settings for onnxruntime.quantization.quantize_static written by quantscope export; the .py file beside it applies them. quant_type values are QuantType names.',
    format: ORT_EXPORT_FORMAT,
    model: source.model,
    plan: source.plan,
    profile: source.profile,
    quantize_static: {
      ...q,
      extra_options: { ...q.extra_options, TensorQuantOverrides: Object.fromEntries(q.extra_options.TensorQuantOverrides) },
    },
    mapping: exp.mapping,
    notes: exp.notes,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * The script. Strings are embedded as JSON string literals, which are Python string literals too
 * (JSON's escapes are a subset of Python's).
 */
export function formatOrtScript(jsonFile: string, inputs: readonly string[]): string {
  // File names go into the docstring as text: no quote or backslash may end or escape it.
  const shown = (name: string): string => displayName(name).replace(/["\\]/g, '_');
  return `"""Quantizes the model with onnxruntime as quantscope's plan says.

Usage: python ${shown(path.basename(jsonFile, '.json'))}.py OUTPUT.onnx SAMPLE [SAMPLE...]

Written by quantscope export (--to ort-overrides) with ${shown(path.basename(jsonFile))} beside it, which
holds the model's path and the quantize_static arguments. Each SAMPLE is one calibration input: a
.npy file for a single-input model, or a .npz file holding every model input by name.
"""
import json
import os
import sys

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

SPEC_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ${JSON.stringify(path.basename(jsonFile))})
INPUTS = ${JSON.stringify(inputs)}


def with_quant_types(override):
    """TensorQuantOverrides takes QuantType values where the JSON file has their names."""
    out = dict(override)
    if "quant_type" in out:
        out["quant_type"] = QuantType[out["quant_type"]]
    if "convert" in out:
        out["convert"] = with_quant_types(out["convert"])
    if "recv_nodes" in out:
        out["recv_nodes"] = set(out["recv_nodes"])
    return out


class Samples(CalibrationDataReader):
    def __init__(self, files):
        self.files = iter(files)

    def get_next(self):
        sample = next(self.files, None)
        if sample is None:
            return None
        if sample.endswith(".npz"):
            with np.load(sample) as arrays:
                return {name: arrays[name] for name in INPUTS}
        if len(INPUTS) != 1:
            sys.exit(f"{sample}: the model has {len(INPUTS)} inputs, so each sample must be a .npz file holding them by name")
        return {INPUTS[0]: np.load(sample)}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(SPEC_FILE, encoding="utf-8") as f:
        doc = json.load(f)
    spec = doc["quantize_static"]
    extra = dict(spec["extra_options"])
    extra["TensorQuantOverrides"] = {
        name: [with_quant_types(d) for d in dicts] for name, dicts in extra["TensorQuantOverrides"].items()
    }
    quantize_static(
        doc["model"],
        sys.argv[1],
        Samples(sys.argv[2:]),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType[spec["activation_type"]],
        weight_type=QuantType[spec["weight_type"]],
        per_channel=spec["per_channel"],
        op_types_to_quantize=spec["op_types_to_quantize"],
        nodes_to_exclude=spec["nodes_to_exclude"],
        extra_options=extra,
    )
    for note in doc["notes"]:
        print("note:", note, file=sys.stderr)


if __name__ == "__main__":
    main()
`;
}

export function ortExportFiles(jsonFile: string, exp: OrtExport, source: ExportSource, inputs: readonly string[]): ExportFile[] {
  const paths = ortExportPaths(jsonFile);
  return [
    { path: paths.json, text: formatOrtJson(exp, source) },
    { path: paths.script, text: formatOrtScript(paths.json, inputs) },
  ];
}
