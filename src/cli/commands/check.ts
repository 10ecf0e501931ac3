import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { checkEmulation } from '../../app/check.js';
import { openModel } from '../../app/context.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { checkJson, formatCheckText } from '../../store/check-format.js';
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

interface CheckArgs extends ModelArgs, QuantArgs, OutputArgs {
  taps?: string[];
  tolerance?: number;
  all: boolean;
}

/**
 * `quantscope check`: the emulation self-check (DESIGN.md §4). Exit codes: 0 the optimized quant
 * model computes what the plan says; 1 a tensor differs beyond the tolerance; 2 bad input.
 */
export const checkCommand: CliCommand<CheckArgs> = {
  command: 'check <model>',
  describe:
    'Emulation self-check: the quant model with integer kernels against its literal QDQ evaluation, per tensor, in quantization steps',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withModelOptions(y)))
      .option('taps', {
        alias: 't',
        type: 'string',
        array: true,
        describe: 'Tensors to check: names, globs, op:Type, re:..., @all, @outputs, @hotspots (default @all; outputs always)',
      })
      .option('tolerance', { type: 'number', describe: 'Largest agreeing difference, in quantization steps of each tensor (default 1)' })
      .option('all', {
        type: 'boolean',
        default: false,
        describe: 'Show every tensor, not only mismatches and the largest differences',
      }) as unknown as Argv<CheckArgs>,
  handler: async (args: ArgumentsCamelCase<CheckArgs>) => {
    if (args.tolerance !== undefined && !(args.tolerance >= 0))
      throw new UserError(`--tolerance ${String(args.tolerance)} is not a number of steps; give 0 or more (default 1).`);
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const ctx = await openModel(modelInputOptions(args, onProgress));
      const quant = await setUpQuant(ctx, quantSetupOptions(args), onProgress, signal);
      const result = await checkEmulation({
        ctx,
        quant,
        taps: args.taps,
        tolerance: args.tolerance,
        maxMemory: maxMemoryOf(args),
        onProgress,
        signal,
      });
      if (args.json) printJson(checkJson(result));
      else print(formatCheckText(result, { all: args.all }));
      if (!result.passes) return ExitCode.qualityGate;
    } finally {
      release();
    }
  },
};
