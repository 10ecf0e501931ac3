import { readFileSync } from 'node:fs';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';

/**
 * A tensor map between two models (`compare ref.onnx test.onnx --map names.json`): a JSON object
 * from reference tensor names to test tensor names, e.g. `{ "/conv1/Conv_output_0": "conv1_out" }`.
 */
export function readTensorMap(file: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`Tensor map '${displayName(file, 400)}' cannot be read as JSON (${displayName(messageOf(error), 200)}).`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`Tensor map '${displayName(file, 400)}' is not a JSON object from reference tensor names to test tensor names.`);
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      throw new UserError(`Tensor map '${displayName(file, 400)}' maps '${displayName(key)}' to something other than a tensor name.`);
    }
    out[key] = v;
  }
  return out;
}
