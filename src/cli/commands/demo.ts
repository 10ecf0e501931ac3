import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import { runDemo } from '../../app/demo.js';
import { withOutputOptions, type OutputArgs } from '../options.js';
import { print, printJson, progressPrinter } from '../output.js';
import { cancelOnSignals } from '../signals.js';
import { formatDemo } from '../../present/demo-text.js';

interface DemoArgs extends OutputArgs {
  out?: string;
  'emit-dir'?: string;
}

/**
 * `quantscope demo`: the whole story on the built-in demo model, no input needed. Also what a
 * plain `quantscope` runs outside a terminal. Exit code 0 when the story completes.
 */
export const demoCommand: CliCommand<DemoArgs> = {
  command: 'demo',
  describe: 'Run the whole story on the built-in demo model: compare, bisect, fix, emit',
  builder: (y: Argv) =>
    withOutputOptions(y)
      .option('out', {
        alias: 'o',
        type: 'string',
        describe:
          'Directory for every file the demo writes: the plan and the fixed model with its .quant.json and .manifest.json (default: the plan in dumps/, the model in models/)',
      })
      .option('emit-dir', {
        type: 'string',
        describe: 'Directory the fixed model is written to (default: --out, else models)',
      }) as unknown as Argv<DemoArgs>,
  handler: async (args: ArgumentsCamelCase<DemoArgs>) => {
    const onProgress = progressPrinter({ quiet: args.quiet || args.json });
    const { signal, release } = cancelOnSignals();
    try {
      const result = await runDemo({ outDir: args.out, emitDir: args['emit-dir'], onProgress, signal });
      if (args.json) printJson(result);
      else print(formatDemo(result));
    } finally {
      release();
    }
  },
};
