import { displayName } from '../core/closest.js';
import type { RknnExport } from '../quant/export-rknn.js';
import { mappingLine, type ExportSource } from '../quant/plan-export.js';
import { commentLines, type ExportFile } from './plan-export-write.js';

/**
 * The RKNN export: the `custom_quantize_layers` section of RKNN-Toolkit2's
 * `<model>.quantization.cfg` (quant/export-rknn.ts says where it is defined), as a YAML file
 * whose comments give the mapping, the notes and how to apply it:
 *
 *   custom_quantize_layers:
 *       "layer_output_name": float16
 *
 * Names are YAML double-quoted scalars written as JSON strings (JSON's escapes are YAML's too), so
 * any tensor name survives, ':' and '#' included. YAML limits an implicit key to 1024 characters
 * (PyYAML refuses a longer one), so a longer name is written as an explicit key (`? "name"` then
 * `: dtype`). With nothing to list the section is `{}`, as step1 writes it.
 */

/** The longest quoted key written as an implicit (`"name": dtype`) key; YAML's limit is 1024. */
const IMPLICIT_KEY_LIMIT = 1000;

export function formatRknnSection(exp: RknnExport): string {
  if (exp.layers.length === 0) return 'custom_quantize_layers: {}\n';
  const entry = (name: string, dtype: string): string => {
    const key = JSON.stringify(name);
    return key.length <= IMPLICIT_KEY_LIMIT ? `    ${key}: ${dtype}` : `    ? ${key}\n    : ${dtype}`;
  };
  return `custom_quantize_layers:\n${exp.layers.map((l) => entry(l.name, l.dtype)).join('\n')}\n`;
}

export function formatRknnFile(exp: RknnExport, source: ExportSource): string {
  const header = [
    `RKNN-Toolkit2 hybrid quantization for ${displayName(source.model)} on ${exp.platform},`,
    `from plan ${displayName(source.plan)} (profile ${displayName(source.profile)}), written by quantscope export.`,
    'Apply: run hybrid_quantization_step1, replace the line `custom_quantize_layers: {}` of the',
    '<model>.quantization.cfg it writes with the section below, then run hybrid_quantization_step2.',
    '',
    `Mapping (quantscope precision → RKNN dtype on ${exp.platform}):`,
    ...exp.mapping.map((m) => `  ${mappingLine(m)}`),
    '',
    'Notes:',
    ...exp.notes.map((n) => `  - ${n}`),
  ];
  return `${commentLines('# ', header)}\n${formatRknnSection(exp)}`;
}

export function rknnExportFiles(file: string, exp: RknnExport, source: ExportSource): ExportFile[] {
  return [{ path: file, text: formatRknnFile(exp, source) }];
}
