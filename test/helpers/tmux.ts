import { spawnSync } from 'node:child_process';

/** Whether tmux is installed: the scenario tests drive the real binary in it. */
export const HAS_TMUX = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;

/**
 * A real terminal for scenario tests: tmux on its own server socket, keys sent with send-keys,
 * the screen read back with capture-pane (polled, never fixed sleeps).
 */
export class Tmux {
  private readonly socket: string;
  constructor(private readonly name: string) {
    this.socket = `qs-${name}-${process.pid}`;
  }

  private tmux(args: readonly string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  start(command: string, width: number, height: number): void {
    // A fresh tmux server sometimes exits while starting ("server exited unexpectedly"); retry.
    for (let attempt = 1; ; attempt++) {
      try {
        this.tmux(['new-session', '-d', '-s', this.name, '-x', String(width), '-y', String(height), command]);
        return;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  /** Literal text, so a filter like `op:InstanceNormalization` is not read as key names. */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', this.name]);
  }

  async waitFor(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
    const start = Date.now();
    let last: string;
    for (;;) {
      last = this.screen();
      if (pattern.test(last)) return last;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { encoding: 'utf8' });
  }
}
