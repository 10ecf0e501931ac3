import yargs, { type CommandModule } from 'yargs';
import { ExitCode, type ExitCodeValue } from '../core/errors.js';
import type { CliCommand } from './command.js';
import { reportError } from './errors.js';

class UsageError extends Error {}

/**
 * The commands, loaded on demand: a command's module pulls in onnxruntime, sharp or ink, so
 * loading only the one asked for keeps start-up (and the TUI's first frame) short.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = CliCommand<any>;
const COMMANDS: Readonly<Record<string, () => Promise<AnyCommand>>> = {
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  compare: async () => (await import('./commands/compare.js')).compareCommand,
  tui: async () => (await import('./commands/tui.js')).tuiCommand,
  calibrate: async () => (await import('./commands/calibrate.js')).calibrateCommand,
  emit: async () => (await import('./commands/emit.js')).emitCommand,
  bisect: async () => (await import('./commands/bisect.js')).bisectCommand,
  fix: async () => (await import('./commands/fix.js')).fixCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  check: async () => (await import('./commands/check.js')).checkCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  time: async () => (await import('./commands/time.js')).timeCommand,
};

/** Options whose values are a fixed list (yargs `choices`). */
const CHOICE_OPTIONS = ['backend', 'strategy', 'format', 'method', 'to'] as const;

/**
 * A yargs message as one sentence: its choice error ("Invalid values:\n  Argument: backend,
 * Given: "nope", Choices: "float", ...") becomes `--backend 'nope' is not one of float, quant, both.`;
 * any other message has its lines joined.
 */
export function oneSentence(message: string): string {
  const choice = /^Invalid values:\s*Argument: ([^,]+), Given: (.*), Choices: (.*)$/s.exec(message.trim());
  if (choice) {
    const given = choice[2].trim().replace(/^"(.*)"$/, '$1');
    const choices = choice[3]
      .split(',')
      .map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
      .join(', ');
    return `--${choice[1].trim()} '${given}' is not one of ${choices}.`;
  }
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * The yargs module of a command, whose handler keeps what the command's handler returns (a failed
 * quality gate's exit code) in `result` for runCli to return.
 */
function collecting(command: AnyCommand, result: { code: ExitCodeValue }): CommandModule {
  return {
    ...command,
    handler: async (args) => {
      result.code = (await command.handler(args)) ?? ExitCode.ok;
    },
  };
}

/** Parses argv, runs one command, and returns the process exit code. Never throws. */
export async function runCli(argv: readonly string[]): Promise<ExitCodeValue> {
  const result: { code: ExitCodeValue } = { code: ExitCode.ok };
  try {
    // A plain `quantscope` in a terminal opens the TUI on the demo model.
    const args = argv.length === 0 && process.stdin.isTTY && process.stdout.isTTY ? ['tui'] : [...argv];
    // Outside a terminal (`npm start` in CI or a pipe) it runs the demo instead.
    if (args.length === 0) args.push('demo');
    // An option of a few choices given with no value (`--backend` last, or before another flag):
    // yargs would silently give it its default.
    args.forEach((arg, i) => {
      const name = CHOICE_OPTIONS.find((o) => arg === `--${o}` || arg === `--${o}=`);
      const next = args[i + 1];
      if (name && (arg.endsWith('=') || next === undefined || next.startsWith('-'))) throw new UsageError(`--${name} needs a value.`);
    });
    const wanted = Object.hasOwn(COMMANDS, args[0]) ? [args[0]] : Object.keys(COMMANDS);
    const commands = await Promise.all(wanted.map((name) => COMMANDS[name]()));
    let parser = yargs(args).scriptName('quantscope');
    for (const command of commands) parser = parser.command(collecting(command, result));
    await parser
      .usage('$0 <command> [options]\n\nFind and fix the layers where a network loses precision when quantized.')
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
        const unknown = args[0] !== undefined && !args[0].startsWith('-') && !Object.hasOwn(COMMANDS, args[0]);
        const text = oneSentence(message);
        throw new UsageError(unknown ? `Unknown command '${args[0]}'. ${text}` : text);
      })
      .parseAsync();
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`quantscope: ${error.message} (see quantscope --help)\n`);
      return ExitCode.usage;
    }
    return reportError(error, (t) => process.stderr.write(t));
  }
  return result.code;
}
