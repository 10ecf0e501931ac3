import type { ArgumentsCamelCase, CommandModule } from 'yargs';
import type { ExitCodeValue } from '../core/errors.js';

/**
 * A quantscope command: a yargs module whose handler may return the exit code of a finished run
 * (a quality gate that failed: 1), which runCli hands back to the process. Returning nothing is
 * success; a problem is thrown (UserError, InternalError) and mapped by runCli's one `catch`.
 */
export interface CliCommand<A> extends Omit<CommandModule<object, A>, 'handler'> {
  readonly handler: (args: ArgumentsCamelCase<A>) => CommandResult | Promise<CommandResult>;
}

export type CommandResult = ExitCodeValue | void;
