import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTensor } from '../src/core/tensor.js';
import { tensorFileName } from '../src/store/file-names.js';
import { RunDir } from '../src/store/run-dir.js';
import { findRun, incompleteRunNote } from '../src/store/run-location.js';

const root = mkdtempSync(join(tmpdir(), 'qs-run-location-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const t = (v: number) => makeTensor('float32', [1], Float32Array.of(v));

/** A run of taps a, b/c, d: float wrote `float`, quant wrote `quant`; complete when asked. */
function makeRun(name: string, float: readonly string[], quant: readonly string[], complete: boolean, taps = ['a', 'b/c', 'd']): string {
  const dir = join(root, name);
  const run = RunDir.create(dir, { model: { path: 'm.onnx', sha256: 'x' }, inputs: [], taps, fsync: false, manifestIntervalMs: 0 });
  for (const n of float) run.writeTensor('float', n, t(1));
  for (const n of quant) run.writeTensor('quant', n, t(2));
  if (complete) run.complete();
  else run.flush();
  return dir;
}

describe('findRun', () => {
  const dir = makeRun('whole', ['a', 'b/c'], ['a'], true);

  it('reads the manifest of a run directory, every entry as it is', () => {
    const run = findRun(dir);
    expect(run?.root).toBe(dir);
    expect(run?.side).toBeUndefined();
    expect(run?.entries.map((e) => [e.name, e.backend, e.file])).toEqual([
      ['a', 'float', `float/${tensorFileName('a', '.npy')}`],
      ['b/c', 'float', `float/${tensorFileName('b/c', '.npy')}`],
      ['a', 'quant', `quant/${tensorFileName('a', '.npy')}`],
    ]);
  });

  it.each([
    [
      'float',
      [
        ['a', tensorFileName('a', '.npy')],
        ['b/c', tensorFileName('b/c', '.npy')],
      ],
    ],
    ['quant', [['a', tensorFileName('a', '.npy')]]],
  ] as const)('reads the manifest one level up for its %s/ directory, files relative to it', (side, entries) => {
    const run = findRun(join(dir, side));
    expect(run?.root).toBe(dir);
    expect(run?.side).toBe(side);
    expect(run?.manifest.status).toBe('complete');
    expect(run?.entries.map((e) => [e.name, e.file])).toEqual(entries);
  });

  it("finds no run for a side directory copied out of its run, nor for the run's parent", () => {
    const copy = join(root, 'copy');
    cpSync(join(dir, 'float'), join(copy, 'float'), { recursive: true });
    expect(findRun(join(copy, 'float'))).toBeUndefined();
    expect(findRun(root)).toBeUndefined();
  });
});

describe('incompleteRunNote', () => {
  it('says nothing about a complete run', () => {
    const run = findRun(makeRun('complete', ['a'], [], true));
    expect(run && incompleteRunNote(run, ['float', 'quant'])).toBeNull();
  });

  it('names the directory, and per side how many taps have no tensor and the first of them', () => {
    const dir = makeRun('stopped', ['a', 'b/c', 'd'], ['a'], false);
    const run = findRun(join(dir, 'quant'));
    expect(run && incompleteRunNote(run, ['quant'])).toBe(
      `Run directory '${dir}' is incomplete: its run was stopped before it finished, and 2 of its 3 taps have no quant tensor (the first is 'b/c').`,
    );
    expect(run && incompleteRunNote(run, ['float', 'quant', 'float'])).toBe(
      `Run directory '${dir}' is incomplete: its run was stopped before it finished, and 2 of its 3 taps have no quant tensor (the first is 'b/c').`,
    );
    const early = findRun(makeRun('early', ['a'], [], false));
    expect(early && incompleteRunNote(early, ['float', 'quant'])).toBe(
      `Run directory '${join(root, 'early')}' is incomplete: its run was stopped before it finished, and 2 of its 3 taps have no float tensor (the first is 'b/c'), and 3 of its 3 taps have no quant tensor (the first is 'a').`,
    );
  });

  it('says when every tap is there and when the manifest lists no taps', () => {
    const full = findRun(makeRun('stopped-late', ['a', 'b/c', 'd'], [], false));
    expect(full && incompleteRunNote(full, ['float'])).toBe(
      `Run directory '${join(root, 'stopped-late')}' is incomplete: its run was stopped before it finished, though each of its 3 taps has its float tensor.`,
    );
    const untapped = findRun(makeRun('no-taps', [], [], false, []));
    expect(untapped && incompleteRunNote(untapped, ['float'])).toBe(
      `Run directory '${join(root, 'no-taps')}' is incomplete: its run was stopped before it finished, and its manifest does not say which tensors it was to write.`,
    );
  });
});
