import { displayName } from '../core/closest.js';
import type { TensorRtExport } from '../quant/export-tensorrt.js';
import { mappingLine, type ExportSource } from '../quant/plan-export.js';
import { commentLines, type ExportFile } from './plan-export-write.js';

/**
 * The TensorRT export: a POSIX shell script that runs trtexec on the model with the plan's
 * per-layer constraints, its mapping and notes as comments:
 *
 *   exec trtexec --onnx='MODEL' --int8 --fp16 --precisionConstraints=obey \
 *     --layerPrecisions='a:fp16,b:fp32' --layerOutputTypes='a:fp16,b:fp32' "$@"
 *
 * Extra trtexec options go after the script's name (`sh FILE --calib=cache --saveEngine=x.plan`).
 * The flag syntax is trtexec's (quant/export-tensorrt.ts says where it is defined); every value is
 * single-quoted for the shell, and layer names never hold a quote (isTrtexecName).
 */

/** A word for a POSIX shell: single-quoted, each ' written as '\''. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** The --layerPrecisions value (comma-separated `layerName:precision`). */
export function layerPrecisionsSpec(exp: TensorRtExport): string {
  return exp.layers.map((l) => `${l.name}:${l.precision}`).join(',');
}

/** The --layerOutputTypes value (`layerName:type[+type...]`, one type per output). */
export function layerOutputTypesSpec(exp: TensorRtExport): string {
  return exp.layers
    .filter((l) => l.outputTypes !== null)
    .map((l) => `${l.name}:${(l.outputTypes ?? []).join('+')}`)
    .join(',');
}

/** trtexec's arguments after the program name, unquoted. */
export function trtexecArguments(exp: TensorRtExport, model: string): string[] {
  const args = [`--onnx=${model}`];
  if (exp.int8) args.push('--int8');
  if (exp.fp16) args.push('--fp16');
  if (exp.layers.length > 0) {
    args.push('--precisionConstraints=obey', `--layerPrecisions=${layerPrecisionsSpec(exp)}`);
    const outputs = layerOutputTypesSpec(exp);
    if (outputs !== '') args.push(`--layerOutputTypes=${outputs}`);
  }
  return args;
}

export function formatTrtexecScript(exp: TensorRtExport, source: ExportSource): string {
  const header = [
    `TensorRT per-layer precisions for ${displayName(source.model)},`,
    `from plan ${displayName(source.plan)} (profile ${displayName(source.profile)}), written by quantscope export.`,
    'Usage: sh THIS_FILE [more trtexec options, e.g. --calib=CACHE --saveEngine=ENGINE]',
    '',
    'Mapping (quantscope precision → TensorRT):',
    ...exp.mapping.map((m) => `  ${mappingLine(m)}`),
    ...(exp.layers.length === 0
      ? ['', 'No layer needs a constraint: every node keeps what TensorRT does by default under these flags.']
      : []),
    '',
    'Notes:',
    ...exp.notes.map((n) => `  - ${n}`),
  ];
  const args = trtexecArguments(exp, source.model).map((a) =>
    a.startsWith('--int8') || a.startsWith('--fp16') || a.startsWith('--precisionConstraints') ? a : shellQuote(a),
  );
  return `#!/bin/sh\n${commentLines('# ', header)}\nexec trtexec \\\n${args.map((a) => `  ${a} \\`).join('\n')}\n  "$@"\n`;
}

export function tensorRtExportFiles(file: string, exp: TensorRtExport, source: ExportSource): ExportFile[] {
  return [{ path: file, text: formatTrtexecScript(exp, source) }];
}
