import { dirname } from 'node:path';
import { TensorStats } from '../quant/calibration-stats.js';
import { deriveRange, DEFAULT_PERCENTILE, type CalibrationMethod } from '../quant/calibration-methods.js';
import { readCalibrationTable } from '../store/calibration-file.js';
import { calibrationId, type CalibratedTensor, type CalibrationTable, type NonFiniteSummary } from '../quant/calibration-table.js';
import { activationQuant, type Profile } from '../quant/profile.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { toFloat32 } from '../core/tensor.js';
import { messageOf, UserError } from '../core/errors.js';
import { calibrationSamples, type CalibrationSample } from './calibration-inputs.js';
import { floatBackendFor, type ModelContext } from './context.js';
import { silent, throwIfCancelled, type ProgressListener } from './events.js';
import { calibrationTensors, planMemoryUse } from './memory-plan.js';
import { cachedStatisticsPath, readStatisticsCache, writeStatisticsCache, cachedCalibrationPath } from '../store/calibration-cache.js';
import { makeDirectory } from '../store/directories.js';
import { pathExists } from '../store/files.js';

export interface CalibrateOptions {
  readonly ctx: ModelContext;
  readonly profile: Profile;
  /** `--calib` values; none: calibrate on the evaluation inputs. */
  readonly calib?: readonly string[];
  readonly method?: CalibrationMethod;
  readonly percentile?: number;
  readonly maxMemory?: number;
  /** Also write the table here. */
  readonly out?: string;
  /** Reuse a cached table with the same key (default true). */
  readonly useCache?: boolean;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface CalibrateResult {
  readonly table: CalibrationTable;
  readonly path: string;
  readonly cached: boolean;
}

/**
 * Runs the float model over the calibration samples, tapping every float activation in groups
 * that fit the memory budget, keeps running statistics only, and derives each tensor's 8-bit
 * range with the chosen method and its 16-bit range by min/max (16 bits have 256 times the
 * levels, so clipping outliers buys almost nothing there). The table is cached by model, inputs,
 * method and profile. Underneath it, the statistics themselves are cached by model and inputs
 * alone (they depend on nothing else), so another method or profile on the same inputs derives
 * its table without running the model again.
 */
export async function calibrate(options: CalibrateOptions): Promise<CalibrateResult> {
  const { ctx, profile } = options;
  const onProgress = options.onProgress ?? silent;
  const useCache = options.useCache ?? true;
  const method = options.method ?? 'percentile';
  const percentile = method === 'percentile' ? (options.percentile ?? DEFAULT_PERCENTILE) : null;
  onProgress({ type: 'stage', stage: 'calibrate', detail: 'reading calibration inputs' });
  const samples = await calibrationSamples(ctx, options.calib ?? []);
  const inputSha256s = samples.flatMap((s) => s.sources.map((x) => x.sha256));
  const id = calibrationId({
    modelSha256: ctx.modelSha256,
    inputSha256s,
    method,
    percentile,
    profile: profile.name + JSON.stringify(profile.activations),
  });
  const cachePath = cachedCalibrationPath(id);
  if (useCache && pathExists(cachePath)) {
    const table = readCalibrationTable(cachePath);
    if (options.out) writeFileAtomic(options.out, `${JSON.stringify(table, null, 2)}\n`);
    onProgress({ type: 'log', level: 'info', message: `calibration ${id} reused from the cache` });
    warnNonFinite(table.nonFinite, onProgress);
    return { table, path: options.out ?? cachePath, cached: true };
  }

  const statsPath = cachedStatisticsPath(ctx.modelSha256, inputSha256s);
  let stats = useCache ? readCachedStatistics(statsPath, onProgress) : undefined;
  if (stats) {
    onProgress({ type: 'log', level: 'info', message: `calibration statistics of ${samples.length} sample(s) reused from the cache` });
  } else {
    stats = await collectStatistics(ctx, samples, options);
    writeStatisticsCache(statsPath, ctx.modelSha256, inputSha256s, stats);
  }

  const int8 = activationQuant(profile, 'int8');
  const int16 = activationQuant(profile, 'int16');
  const entries: Record<string, CalibratedTensor> = {};
  const nonFinite = { values: 0, tensors: 0, unranged: 0 };
  for (const [name, s] of stats) {
    // Deriving entropy ranges takes a while on big models: let a signal handler run between tensors.
    await new Promise((resolve) => setImmediate(resolve));
    throwIfCancelled(options.signal);
    const skipped = s.nanCount + s.infCount;
    if (skipped > 0) {
      nonFinite.values += skipped;
      nonFinite.tensors += 1;
    }
    if (s.count === 0) {
      if (skipped === 0) continue;
      // Only NaN/Inf (downstream of a non-finite input): the empty range, so the runs go on and
      // the comparison shows the NaN, instead of a quantizer with no range to use.
      nonFinite.unranged += 1;
      entries[name] = { min: 0, max: 0, int8: { min: 0, max: 0 }, int16: { min: 0, max: 0 } };
      continue;
    }
    entries[name] = {
      min: s.min,
      max: s.max,
      int8: deriveRange(s, method, { bits: 8, symmetric: int8.symmetric, percentile: percentile ?? undefined }),
      int16: deriveRange(s, 'minmax', { bits: 16, symmetric: int16.symmetric }),
    };
  }
  if (Object.keys(entries).length === nonFinite.unranged)
    throw new UserError('Calibration saw no finite activation value; check the calibration inputs.');
  const table: CalibrationTable = {
    schemaVersion: 1,
    id,
    method,
    percentile,
    profile: profile.name,
    modelSha256: ctx.modelSha256,
    inputs: samples.flatMap((s) => s.sources),
    samples: samples.length,
    createdAt: new Date().toISOString(),
    tensors: entries,
    ...(nonFinite.values > 0 ? { nonFinite } : {}),
  };
  warnNonFinite(table.nonFinite, onProgress);
  const text = `${JSON.stringify(table, null, 2)}\n`;
  makeDirectory(dirname(cachePath), 'The calibration cache');
  writeFileAtomic(cachePath, text);
  if (options.out) writeFileAtomic(options.out, text);
  return { table, path: options.out ?? cachePath, cached: false };
}

/** The warning for NaN and ±Inf values the calibration skipped, if it skipped any. */
function warnNonFinite(summary: NonFiniteSummary | undefined, onProgress: ProgressListener): void {
  if (!summary || summary.values === 0) return;
  const unranged = summary.unranged > 0 ? `; ${summary.unranged} of them had no finite value and got the empty range [0, 0]` : '';
  onProgress({
    type: 'log',
    level: 'warn',
    message: `calibration skipped ${summary.values} NaN/Inf value(s) in ${summary.tensors} tensor(s)${unranged}; check the calibration inputs`,
  });
}

/** Every float activation's running statistics over the samples, from float runs in memory-bounded tap groups. */
async function collectStatistics(
  ctx: ModelContext,
  samples: readonly CalibrationSample[],
  options: CalibrateOptions,
): Promise<Map<string, TensorStats>> {
  const onProgress = options.onProgress ?? silent;
  const tensors = calibrationTensors(ctx);
  const stats = new Map(tensors.map((t) => [t, new TensorStats(t)]));
  const { groups } = planMemoryUse(ctx, 'calibrate', options.maxMemory, tensors);
  const backend = await floatBackendFor(ctx);
  const total = groups.length * samples.length;
  let done = 0;
  try {
    for (const group of groups) {
      await backend.prepare(group);
      for (const sample of samples) {
        throwIfCancelled(options.signal);
        const out = await backend.run(sample.feeds, group);
        for (const t of group) {
          const value = out.get(t) ?? sample.feeds.get(t);
          if (value && value.dtype === 'float32') (stats.get(t) as TensorStats).update(toFloat32(value));
        }
        done += 1;
        onProgress({ type: 'progress', stage: 'calibrate', done, total, detail: `${samples.length} sample(s), ${tensors.length} tensors` });
      }
    }
  } finally {
    await backend.dispose();
  }
  return stats;
}

/**
 * Cached statistics, or undefined when there are none. A damaged cache file is not an error (the
 * statistics are simply collected again) but is reported, since it is otherwise invisible.
 */
function readCachedStatistics(file: string, onProgress: ProgressListener): Map<string, TensorStats> | undefined {
  try {
    return readStatisticsCache(file);
  } catch (error) {
    onProgress({
      type: 'log',
      level: 'warn',
      message: `ignoring the damaged calibration statistics cache '${file}' (${messageOf(error)})`,
    });
    return undefined;
  }
}
