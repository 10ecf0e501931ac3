import { expect } from 'vitest';
import type { CliResult } from './cli.js';

/** A run refused for bad input: exit code 2, one error line (one sentence, no stack) last on stderr, after any progress lines. */
export function expectBadInput(r: CliResult, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  const errors = lines.filter((l) => l.startsWith('quantscope:'));
  expect(errors, r.stderr).toHaveLength(1);
  expect(lines[lines.length - 1]).toBe(errors[0]);
  expect(errors[0]).toMatch(/^quantscope: [^\n]*\.$/);
  // One sentence: no '. ' outside quoted names, numbers and file extensions.
  expect(errors[0].replace(/\d\.\d|\.[a-z]|'[^']*'/g, '').split('. ')).toHaveLength(1);
  expect(errors[0]).toMatch(message);
}
