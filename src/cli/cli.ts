import yargs from 'yargs';
import { ExitCode, type ExitCodeValue } from '../core/errors.js';
import { reportError } from './errors.js';
import { inspectCommand } from './commands/inspect.js';
import { runCommand } from './commands/run.js';

class UsageError extends Error {}

/** A command handler sets this to report a quality-gate result without throwing. */
export const exitState: { code: ExitCodeValue } = { code: ExitCode.ok };

/** Parses argv, runs one command, and returns the process exit code. Never throws. */
export async function runCli(argv: readonly string[]): Promise<ExitCodeValue> {
  exitState.code = ExitCode.ok;
  try {
    await yargs([...argv])
      .scriptName('quantscope')
      .usage('$0 <command> [options]\n\nFind and fix the layers where a network loses precision when quantized.')
      .command(inspectCommand)
      .command(runCommand)
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
