import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { openModel } from '../../app/context.js';
import { planRun, runModel, type BackendChoice } from '../../app/run.js';
import { setUpQuant } from '../../app/quant-setup.js';
import {
  maxMemoryOf,
  modelInputOptions,
  quantSetupOptions,
  withModelOptions,
  withOutputOptions,
  withQuantOptions,
  type ModelArgs,
  type OutputArgs,
  type QuantArgs,
} from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { cancelOnSignals } from '../signals.js';

interface RunArgs extends ModelArgs, QuantArgs, OutputArgs {
  backend: BackendChoice;
  taps?: string[];
  out?: string;
}

export const runCommand: CliCommand<RunArgs> = {
  command: 'run <model>',
  describe: 'Run the float and/or quantized backend and dump the tapped tensors',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withModelOptions(y)))
      .option('backend', { type: 'string', choices: ['float', 'quant', 'both'], default: 'float', describe: 'Which backend to run' })
      .option('taps', {
        alias: 't',
        type: 'string',
        array: true,
        describe: 'Tensors to dump: names, globs, op:Type, re:..., @all, @outputs, @hotspots (default @outputs)',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'Run directory (default dumps/<model>-<timestamp>)',
      }) as unknown as Argv<RunArgs>,
  handler: async (args: ArgumentsCamelCase<RunArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const ctx = await openModel(modelInputOptions(args, onProgress));
      planRun(ctx, args.taps, maxMemoryOf(args)); // the memory rule, before a long calibration
      const quant = args.backend === 'float' ? undefined : await setUpQuant(ctx, quantSetupOptions(args), onProgress, signal);
      const result = await runModel({
        ctx,
        backend: args.backend,
        taps: args.taps,
        outDir: args.out,
        quant,
        maxMemory: maxMemoryOf(args),
        onProgress,
        signal,
      });
      if (args.json) {
        printJson(result);
      } else {
        const counts = { float: 0, quant: 0 };
        for (const t of result.tensors) counts[t.backend] += 1;
        print(`wrote ${result.tensors.length} tensor file(s) (${counts.float} float, ${counts.quant} quant) to ${result.outDir}`);
      }
    } finally {
      release();
    }
  },
};
