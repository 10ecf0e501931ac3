/** Tensor names that must never place a file outside its directory (shared by store tests). */
export const HOSTILE_NAMES: readonly string[] = [
  '../escape',
  '../../../../etc/passwd',
  '/abs/path',
  'a/b/c',
  'a\\b\\..\\..\\c',
  '..',
  '.',
  '',
  'nul\0byte',
  'ctrl\x01\x1b[31m\n\r\t',
  'x'.repeat(10_000),
  '.hidden',
  'CON',
  'ünïcødé/🙂',
  ' ',
  'a:b*?"<>|',
];
