import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { TensorStats, type TensorStatsJSON } from '../quant/calibration-stats.js';
import { makeDirectory } from './directories.js';

/**
 * The calibration statistics cache: every float activation's running statistics over some inputs,
 * keyed by the model and input hashes alone (they depend on nothing else), so another method or
 * profile on the same inputs derives its table without running the model again. One JSON file:
 * `{ schemaVersion: 1, modelSha256, inputSha256s, tensors: [TensorStatsJSON...] }`.
 */

/** Where cached calibrations live: $QUANTSCOPE_CACHE, else $XDG_CACHE_HOME/quantscope, else ~/.cache/quantscope. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QUANTSCOPE_CACHE) return env.QUANTSCOPE_CACHE;
  const base = env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'quantscope');
}

export function cachedCalibrationPath(id: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'calibration', `${id}.json`);
}

/** Where the statistics of a model over some inputs are cached: keyed by the model and input hashes only. */
export function cachedStatisticsPath(modelSha256: string, inputSha256s: readonly string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify([1, 'statistics', modelSha256, [...inputSha256s]]))
    .digest('hex')
    .slice(0, 16);
  return join(cacheDir(), 'statistics', `${key}.json`);
}

/**
 * The cached statistics in `file`, or undefined when there is no such file. A file that cannot be
 * read or does not hold statistics throws (the caller decides whether that matters).
 */
export function readStatisticsCache(file: string): Map<string, TensorStats> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { schemaVersion?: unknown; tensors?: TensorStatsJSON[] };
  if (json.schemaVersion !== 1 || !Array.isArray(json.tensors)) throw new Error('unexpected layout');
  return new Map(json.tensors.map((t) => [t.name, TensorStats.fromJSON(t)]));
}

/** Writes the statistics to `file` atomically, creating the cache directory. */
export function writeStatisticsCache(
  file: string,
  modelSha256: string,
  inputSha256s: readonly string[],
  stats: ReadonlyMap<string, TensorStats>,
): void {
  makeDirectory(dirname(file), 'The calibration cache');
  writeFileAtomic(
    file,
    JSON.stringify({
      schemaVersion: 1,
      modelSha256,
      inputSha256s,
      tensors: [...stats.values()].map((s) => s.toJSON()),
    }),
  );
}
