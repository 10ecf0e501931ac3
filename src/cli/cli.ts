import yargs from 'yargs';
import { ExitCode, type ExitCodeValue } from '../core/errors.js';
import { reportError } from './errors.js';
import { calibrateCommand } from './commands/calibrate.js';
import { compareCommand } from './commands/compare.js';
import { emitCommand } from './commands/emit.js';
import { inspectCommand } from './commands/inspect.js';
import { runCommand } from './commands/run.js';
import { bisectCommand } from './commands/bisect.js';
import { fixCommand } from './commands/fix.js';
import { demoCommand } from './commands/demo.js';
import { tuiCommand } from './commands/tui.js';

class UsageError extends Error {}

/** A command handler sets this to report a quality-gate result without throwing. */
export const exitState: { code: ExitCodeValue } = { code: ExitCode.ok };

/** Parses argv, runs one command, and returns the process exit code. Never throws. */
export async function runCli(argv: readonly string[]): Promise<ExitCodeValue> {
  exitState.code = ExitCode.ok;
  try {
    // A plain `quantscope` in a terminal opens the TUI on the demo model.
    const args = argv.length === 0 && process.stdin.isTTY && process.stdout.isTTY ? ['tui'] : [...argv];
    // Outside a terminal (`npm start` in CI or a pipe) it runs the demo instead.
    if (args.length === 0) args.push('demo');
    await yargs(args)
      .scriptName('quantscope')
      .usage('$0 <command> [options]\n\nFind and fix the layers where a network loses precision when quantized.')
      .command(inspectCommand)
      .command(runCommand)
      .command(compareCommand)
      .command(tuiCommand)
      .command(calibrateCommand)
      .command(emitCommand)
      .command(bisectCommand)
      .command(fixCommand)
      .command(demoCommand)
      .demandCommand(1, 'Name a command; `quantscope --help` lists them.')
      .strict()
      .recommendCommands()
      .help()
      .alias('h', 'help')
      .version()
      .wrap(Math.min(100, process.stdout.columns ?? 100))
      .fail((message, error) => {
        if (error) throw error;
        // Throwing stops yargs before any handler runs.
        throw new UsageError(message);
      })
      .parseAsync();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`quantscope: ${error.message} (see quantscope --help)\n`);
      return ExitCode.usage;
    }
    return reportError(error, (t) => process.stderr.write(t));
  }
  return exitState.code;
}
