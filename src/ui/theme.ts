import type { Precision } from '../quant/profile.js';

/**
 * Every colour the terminal UI uses, in one place. Names are ink/chalk colour names. Meaning is
 * never carried by colour alone: a failing row also shows `✗`, a tap `●`, the cursor `›`.
 */
export const theme = {
  title: 'cyan',
  accent: 'cyan',
  dim: 'gray',
  pass: 'green',
  fail: 'red',
  warn: 'yellow',
  tap: 'magenta',
  cursorBg: 'blue',
  cursorFg: 'white',
  firstFailFg: 'redBright',
  key: 'cyan',
  error: 'red',
  precision: {
    int8: 'white',
    a16w8: 'greenBright',
    int16: 'yellow',
    fp16: 'cyan',
    fp32: 'blueBright',
  } satisfies Record<Precision, string>,
  verdict: {
    source: 'red',
    amplifier: 'yellow',
    follows: 'gray',
  },
} as const;

export type Status = 'pass' | 'fail' | 'none';

export function statusColor(status: Status): string | undefined {
  if (status === 'pass') return theme.pass;
  if (status === 'fail') return theme.fail;
  return theme.dim;
}
