import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, tempDir } from './helpers/cli.js';

/**
 * Exit codes of a stopped run (issue 14): Ctrl-C (SIGINT) exits 130 and SIGTERM 143, the shell's
 * 128 + signal, not the usage code 2; a second signal quits at once with the same code. A process
 * that must end while onnxruntime still finishes an abandoned call ends by the signal itself
 * (cli/signals.ts), which a shell reports as the same 128 + signal: the status below is what a
 * shell's $? shows.
 */
function stopped(signal: 'SIGINT' | 'SIGTERM', times: 1 | 2): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const out = tempDir('qs-exit-');
    // A compare of 1,000 tensors: long enough to be stopped once it has started comparing.
    const child = spawn(process.execPath, [CLI, 'compare', join(REPO, 'fixtures', 'wide-1000.onnx'), '--out', join(out, 'run')], {
      cwd: REPO,
      env: { ...process.env, QUANTSCOPE_CACHE: join(out, 'cache') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (!sent && /compare: \d+ tensors/.test(stderr)) {
        sent = true;
        child.kill(signal);
        if (times === 2) setTimeout(() => child.kill(signal), 20);
      }
    });
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('compare did not stop within 60 s'));
    }, 60_000);
    child.on('error', reject);
    child.on('exit', (code, by) => {
      clearTimeout(guard);
      resolve({ code: code ?? (by ? 128 + constants.signals[by] : null), stderr });
    });
  });
}

describe('exit codes of a stopped run', () => {
  it.each([
    ['SIGINT', 1, 130],
    ['SIGTERM', 1, 143],
    ['SIGINT', 2, 130],
    ['SIGTERM', 2, 143],
  ] as const)(
    '%s sent %i time(s): exit %i',
    async (signal, times, code) => {
      const r = await stopped(signal, times);
      expect(r.stderr).toContain(`${signal} received; stopping after the current step`);
      expect(r.code, r.stderr).toBe(code);
      if (times === 1) expect(r.stderr).toMatch(new RegExp(`quantscope: Stopped by ${signal}; results written so far are kept`));
    },
    90_000,
  );
});
