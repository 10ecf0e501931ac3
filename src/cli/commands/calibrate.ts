import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { calibrate, type CalibrateResult } from '../../app/calibrate.js';
import { openModel } from '../../app/context.js';
import { parseMethod } from '../../app/quant-setup.js';
import { loadProfile } from '../../store/profile-file.js';
import { maxMemoryOf, modelInputOptions, withModelOptions, withOutputOptions, type ModelArgs, type OutputArgs } from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { cancelOnSignals } from '../signals.js';

interface CalibrateArgs extends ModelArgs, OutputArgs {
  calib: string[];
  method?: string;
  percentile?: number;
  profile?: string;
  out?: string;
  cache: boolean;
  'max-memory'?: string;
}

export const calibrateCommand: CliCommand<CalibrateArgs> = {
  command: 'calibrate <model>',
  describe: 'Measure activation ranges on calibration inputs (cached; reused by run, emit and the rest)',
  builder: (y: Argv) =>
    withOutputOptions(withModelOptions(y))
      .option('calib', { type: 'string', array: true, demandOption: true, describe: 'Calibration inputs: files or folders ([NAME=]PATH)' })
      .option('method', {
        type: 'string',
        choices: ['minmax', 'percentile', 'entropy', 'mse'],
        describe: 'Calibration method (default percentile 99.99)',
      })
      .option('percentile', { type: 'number', describe: 'Percentile for --method percentile' })
      .option('profile', { type: 'string', describe: 'Target profile: generic-int8, int8-fp16, or a JSON file (default generic-int8)' })
      .option('out', { alias: 'o', type: 'string', describe: 'Also write the calibration table here (for --calibration)' })
      .option('cache', { type: 'boolean', default: true, describe: 'Reuse a cached calibration (--no-cache measures again)' })
      .option('max-memory', {
        type: 'string',
        describe: 'Memory budget for tapped tensors per run (e.g. 512MB)',
      }) as unknown as Argv<CalibrateArgs>,
  handler: async (args: ArgumentsCamelCase<CalibrateArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const profile = loadProfile(args.profile ?? 'generic-int8');
      const method = parseMethod(args.method);
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const result = await calibrate({
        ctx,
        profile,
        calib: args.calib,
        method,
        percentile: args.percentile,
        maxMemory: maxMemoryOf(args),
        out: args.out,
        useCache: args.cache,
        onProgress,
        signal,
      });
      if (args.json) printJson(calibrationSummary(result));
      else print(formatCalibration(result));
    } finally {
      release();
    }
  },
};

/** What `calibrate --json` prints: the table's identity and a per-tensor summary, not the whole table. */
export function calibrationSummary(result: CalibrateResult): Record<string, unknown> {
  const t = result.table;
  const entries = Object.entries(t.tensors);
  const clipped = entries.filter(([, e]) => e.int8.min > e.min || e.int8.max < e.max).length;
  return {
    id: t.id,
    path: result.path,
    cached: result.cached,
    method: t.method,
    percentile: t.percentile,
    profile: t.profile,
    modelSha256: t.modelSha256,
    samples: t.samples,
    inputs: t.inputs,
    tensors: entries.length,
    int8Clipped: clipped,
    ranges: Object.fromEntries(entries.map(([name, e]) => [name, { min: e.min, max: e.max, int8: e.int8, int16: e.int16 }])),
  };
}

function formatCalibration(result: CalibrateResult): string {
  const t = result.table;
  const method = t.method === 'percentile' ? `percentile ${t.percentile}` : t.method;
  const how = result.cached ? 'reused from the cache' : 'measured';
  return `calibration ${t.id} (${how}): ${Object.keys(t.tensors).length} tensors over ${t.samples} sample(s), ${method}, profile ${t.profile}\nwritten to ${result.path}`;
}
