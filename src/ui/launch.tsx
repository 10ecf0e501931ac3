import { render } from 'ink';
import type { JobRunner } from '../app/session/job-runner.js';
import type { Session } from '../app/session/session.js';
import { App } from './components/App.js';

export interface TuiOptions {
  readonly session: Session;
  readonly runner: JobRunner;
  readonly initialFilter?: string;
  /** Compare every node as soon as the UI is up (the demo's story). */
  readonly autoRun?: boolean;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  /** Ends the UI from outside (a signal): the app unmounts and the terminal is restored. */
  readonly signal?: AbortSignal;
}

const ALT_SCREEN_ON = '\x1b[?1049h';
const ALT_SCREEN_OFF = '\x1b[?1049l';

/**
 * Runs the TUI on the terminal until the user quits: the alternate screen while it runs (the
 * shell's scrollback is left as it was), the job runner disposed at the end, even on a crash.
 */
export async function runTui(options: TuiOptions): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  stdout.write(ALT_SCREEN_ON);
  try {
    const instance = render(
      <App session={options.session} runner={options.runner} initialFilter={options.initialFilter} autoRun={options.autoRun} />,
      {
        stdout,
        stdin,
        exitOnCtrlC: false,
        patchConsole: true,
      },
    );
    const stop = (): void => instance.unmount();
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      await instance.waitUntilExit();
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
  } finally {
    stdout.write(ALT_SCREEN_OFF);
    await options.runner.dispose();
  }
}
