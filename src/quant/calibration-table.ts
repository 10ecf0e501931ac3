import { createHash } from 'node:crypto';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { CalibrationMethod, Range } from './calibration-methods.js';
import { isCalibrationMethod } from './calibration-methods.js';

/**
 * The calibration result: per activation tensor, the observed extremes and the ranges the
 * method derived for 8- and 16-bit quantization. Written as JSON, cached by its id.
 */
export interface CalibrationTable {
  readonly schemaVersion: 1;
  /** sha256 over model, inputs, method, percentile and profile (first 16 hex digits). */
  readonly id: string;
  readonly method: CalibrationMethod;
  readonly percentile: number | null;
  readonly profile: string;
  readonly modelSha256: string;
  readonly inputs: readonly { readonly source: string; readonly sha256: string }[];
  readonly samples: number;
  readonly createdAt: string;
  readonly tensors: Readonly<Record<string, CalibratedTensor>>;
  /**
   * NaN and ±Inf values the calibration skipped (tables from before this field had none to say):
   * how many values, in how many tensors, and how many tensors had no finite value at all and
   * so got the empty range [0, 0] (scale 1, every value at the zero point).
   */
  readonly nonFinite?: NonFiniteSummary;
}

export interface NonFiniteSummary {
  readonly values: number;
  readonly tensors: number;
  readonly unranged: number;
}

export interface CalibratedTensor {
  readonly min: number;
  readonly max: number;
  readonly int8: Range;
  readonly int16: Range;
}

export interface CalibrationKey {
  readonly modelSha256: string;
  readonly inputSha256s: readonly string[];
  readonly method: CalibrationMethod;
  readonly percentile: number | null;
  readonly profile: string;
}

export function calibrationId(key: CalibrationKey): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([2, key.modelSha256, [...key.inputSha256s], key.method, key.percentile, key.profile]));
  return h.digest('hex').slice(0, 16);
}

/** The range to use for a tensor at a width; undefined when the table does not cover it. */
export function rangeFromTable(table: CalibrationTable, tensor: string, bits: 8 | 16): Range | undefined {
  // Own properties only: a tensor named 'constructor' or '__proto__' must not find Object's.
  if (!Object.prototype.hasOwnProperty.call(table.tensors, tensor)) return undefined;
  const t = table.tensors[tensor];
  return bits === 8 ? t.int8 : t.int16;
}

function isRange(v: unknown): v is Range {
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isFinite((v as Range).min) &&
    Number.isFinite((v as Range).max) &&
    (v as Range).min <= (v as Range).max
  );
}

/**
 * Validates a parsed calibration file (store/calibration-file.ts reads it); a bad one is a
 * UserError that starts with `label` and names the field. Names from the file are shown escaped
 * (displayName), since the file may come from anywhere.
 */
export function parseCalibrationTable(json: unknown, label: string): CalibrationTable {
  const bad = (field: string, why: string) => new UserError(`${label}: field '${displayName(field)}' ${why}.`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${label} does not hold a JSON object.`);
  const t = json as Record<string, unknown>;
  if (t.schemaVersion !== 1) throw bad('schemaVersion', 'must be 1');
  if (typeof t.id !== 'string') throw bad('id', 'must be a string');
  if (typeof t.method !== 'string' || !isCalibrationMethod(t.method)) throw bad('method', 'must be minmax, percentile, entropy or mse');
  if (typeof t.profile !== 'string') throw bad('profile', 'must be a string');
  if (typeof t.modelSha256 !== 'string') throw bad('modelSha256', 'must be a string');
  if (typeof t.tensors !== 'object' || t.tensors === null || Array.isArray(t.tensors)) throw bad('tensors', 'must be an object');
  for (const [name, v] of Object.entries(t.tensors as Record<string, unknown>)) {
    const e = v as Record<string, unknown>;
    if (
      typeof e !== 'object' ||
      e === null ||
      !isRange(e.int8) ||
      !isRange(e.int16) ||
      typeof e.min !== 'number' ||
      typeof e.max !== 'number'
    ) {
      throw bad(`tensors.${name}`, 'must have numbers min and max and ranges int8 and int16 with min <= max');
    }
  }
  return json as CalibrationTable;
}
