import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InternalError } from '../src/core/errors.js';
import { removeStaleTempFiles, staleTempFiles, tempPathFor, writeFileAtomic, writeFileAtomicAsync } from '../src/core/atomic-file.js';
import { isInside, parseTensorFileName, safeJoin, sanitizeName, tensorFileName } from '../src/store/file-names.js';
import { HOSTILE_NAMES } from './store-hostile-names.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-fn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hash8 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);

describe('tensorFileName', () => {
  it.each([
    ['conv1_out', `conv1_out-${hash8('conv1_out')}`],
    ['model/conv1/Conv_output_0', `model_conv1_Conv_output_0-${hash8('model/conv1/Conv_output_0')}`],
    ['a b:c', `a_b_c-${hash8('a b:c')}`],
    ['..', `_.-${hash8('..')}`],
    ['', `_-${hash8('')}`],
    ['🙂', `_-${hash8('🙂')}`],
  ])('%j -> %s', (name, expected) => {
    expect(tensorFileName(name)).toBe(expected);
  });

  it('appends an extension', () => {
    expect(tensorFileName('x', '.npy')).toBe(`x-${hash8('x')}.npy`);
  });

  it.each(HOSTILE_NAMES.map((n) => [JSON.stringify(n).slice(0, 40), n]))('%s is a safe single file name', (_shown, name) => {
    const file = tensorFileName(name, '.npy');
    expect(file).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*-[0-9a-f]{8}\.npy$/);
    expect(file.length).toBeLessThanOrEqual(100 + 1 + 8 + 4);
    expect(file).not.toContain('/');
    expect(file).not.toContain('\\');
    expect(isInside(dir, file)).toBe(true);
  });

  it('gives different files to names that sanitize alike or differ in case', () => {
    const names = ['a/b', 'a_b', 'a:b', 'A_B', 'a_B'];
    expect(new Set(names.map((n) => tensorFileName(n).toLowerCase())).size).toBe(names.length);
  });

  it('caps the readable part at 100 characters', () => {
    expect(sanitizeName('y'.repeat(500))).toHaveLength(100);
  });
});

describe('parseTensorFileName', () => {
  const names = [...HOSTILE_NAMES, '/Concat_output_0', 'model/conv1/Conv_output_0', 'conv1_out', 'a:b', 'y'.repeat(500)];

  it.each(names.map((n) => [JSON.stringify(n).slice(0, 40), n]))('reads back every name the tool writes: %s', (_shown, name) => {
    const parts = parseTensorFileName(tensorFileName(name));
    expect(parts).toEqual({ sanitized: sanitizeName(name), hash: hash8(name), exact: sanitizeName(name) === name });
  });

  it.each(['conv1_out', 'x-DEADBEEF', 'x-1234567', 'x-123456789', '-0123abcd', 'x_0123abcd'])('reads no hash in %j', (base) => {
    expect(parseTensorFileName(base)).toBeUndefined();
  });
});

describe('safeJoin', () => {
  it.each(['a.npy', 'float/a.npy', 'a..b', '..a'])('accepts %j', (name) => {
    expect(safeJoin(dir, name)).toBe(join(dir, name));
  });

  it.each(['../a', '..', '.', '', '/etc/passwd', 'float/../../a', 'a\0b', 'C:\\x'])('refuses %j with an InternalError', (name) => {
    expect(() => safeJoin(dir, name)).toThrow(InternalError);
  });

  it('refuses a path that only shares a prefix with the directory', () => {
    expect(isInside(dir, `..${sep}${resolve(dir).split(sep).pop()}-other${sep}x`)).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it.each([
    ['string', 'hello', 'hello'],
    ['bytes', new Uint8Array([104, 105]), 'hi'],
    ['chunks', [new Uint8Array([97]), new Uint8Array(0), new Uint8Array([98, 99])], 'abc'],
  ] as const)('writes %s and leaves no temporary file', (_what, data, text) => {
    const file = join(dir, `atomic-${_what}.txt`);
    writeFileAtomic(file, data);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('replaces an existing file whole', async () => {
    const file = join(dir, 'replace.txt');
    writeFileAtomic(file, 'old old old', { fsync: false });
    await writeFileAtomicAsync(file, 'new');
    expect(readFileSync(file, 'utf8')).toBe('new');
  });

  it('keeps the old file and removes the temporary one when writing fails', () => {
    const file = join(dir, 'keep.txt');
    writeFileAtomic(file, 'old');
    const failing = {
      get length(): number {
        throw new Error('disk on fire');
      },
    } as unknown as Uint8Array;
    expect(() => writeFileAtomic(file, [new Uint8Array([1]), failing])).toThrow('disk on fire');
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(readdirSync(dir).filter((n) => n.startsWith('.keep.txt.tmp-'))).toEqual([]);
  });

  it('fails in a missing directory without creating anything', () => {
    expect(() => writeFileAtomic(join(dir, 'no', 'such', 'f.txt'), 'x')).toThrow(/ENOENT/);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('names temporary files .<name>.tmp-<pid>-<random> in the same directory', () => {
    const temp = tempPathFor(join(dir, 'x.npy'));
    expect(temp.startsWith(join(dir, `.x.npy.tmp-${process.pid}-`))).toBe(true);
  });

  it('removes temporary files of dead processes only', () => {
    const sub = mkdtempSync(join(dir, 'stale-'));
    const dead = join(sub, '.a.npy.tmp-999999999-0123abcd');
    const mine = join(sub, `.b.npy.tmp-${process.pid}-0123abcd`);
    const other = join(sub, 'c.npy');
    for (const f of [dead, mine, other]) writeFileSync(f, 'x');
    expect(staleTempFiles(sub)).toEqual([dead]);
    expect(removeStaleTempFiles(sub)).toEqual([dead]);
    expect(readdirSync(sub).sort()).toEqual([`.b.npy.tmp-${process.pid}-0123abcd`, 'c.npy'].sort());
    expect(removeStaleTempFiles(join(dir, 'missing'))).toEqual([]);
  });
});
