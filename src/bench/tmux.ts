import { spawnSync } from 'node:child_process';
import { nowMs } from './figures.js';

/**
 * A real terminal for the TUI measurements: a tmux server on its own socket (so no user session
 * is touched), one 80x24 window running a plain shell, keys sent with send-keys and the screen
 * read back with capture-pane. Only this server is ever killed.
 */
export class Tmux {
  private readonly socket = `qs-bench-${process.pid}`;
  private readonly target = 'bench';
  /** An interrupted benchmark still stops its tmux server (it outlives this process otherwise). */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.stop();
    process.kill(process.pid, signal);
  };

  static available(): boolean {
    return spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
  }

  private tmux(args: readonly string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts the server with a shell in `cwd`; ink sees an interactive terminal (no CI variables). */
  async start(cwd: string, width = 80, height = 24): Promise<void> {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, this.onSignal);
    const shell = `cd '${cwd}' && exec env -u CI -u CONTINUOUS_INTEGRATION PS1='qs-bench$ ' sh`;
    // A fresh tmux server sometimes exits while starting ("server exited unexpectedly"): retry.
    for (let attempt = 1; ; attempt++) {
      try {
        this.tmux(['new-session', '-d', '-s', this.target, '-x', String(width), '-y', String(height), shell]);
        break;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
    await this.waitFor(/qs-bench\$/, 'the shell prompt', 10_000);
  }

  /** Types a command line and presses Enter; returns the time (nowMs) just before Enter was sent. */
  command(line: string): number {
    this.tmux(['send-keys', '-t', this.target, '-l', line]);
    const at = nowMs();
    this.tmux(['send-keys', '-t', this.target, 'Enter']);
    return at;
  }

  /** Sends key names (tmux syntax: `j`, `Escape`, `Enter`); returns the time just before sending. */
  keys(...keys: string[]): number {
    const at = nowMs();
    this.tmux(['send-keys', '-t', this.target, ...keys]);
    return at;
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.target]);
  }

  /**
   * Polls the screen until `test` accepts it (as fast as capture-pane answers, a few ms each);
   * returns the screen and the time it was first seen.
   */
  async waitUntil(test: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<{ screen: string; at: number }> {
    const start = nowMs();
    for (;;) {
      const screen = this.screen();
      const at = nowMs();
      if (test(screen)) return { screen, at };
      if (at - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<{ screen: string; at: number }> {
    return this.waitUntil((s) => pattern.test(s), what, timeoutMs);
  }

  stop(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, this.onSignal);
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { encoding: 'utf8' });
  }
}
