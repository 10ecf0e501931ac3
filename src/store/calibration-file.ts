import { existsSync, readFileSync } from 'node:fs';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import { parseCalibrationTable, type CalibrationTable } from '../quant/calibration-table.js';

/**
 * Reads and validates a calibration file (quant/calibration-table.ts parseCalibrationTable); a bad
 * one is a UserError naming the file and field.
 */
export function readCalibrationTable(path: string): CalibrationTable {
  const label = `Calibration file '${displayName(path)}'`;
  if (!existsSync(path)) throw new UserError(`${label} does not exist.`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    // V8 quotes the text around the error, which may hold control characters: show it escaped.
    throw new UserError(`${label} is not valid JSON (${displayName(messageOf(error), 200)}).`, { cause: error });
  }
  return parseCalibrationTable(json, label);
}
