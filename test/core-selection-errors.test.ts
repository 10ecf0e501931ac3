import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closestNames } from '../src/core/closest.js';
import { selectTensors } from '../src/core/selector.js';
import { readModel } from '../src/store/model-file.js';
import { graphOf } from '../src/onnx/index.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';

/**
 * Selections that select nothing are usage errors naming the term (issue 14): before, `--taps
 * op:NoSuchOp`, `--taps ,`, `--taps ''` and `--taps op:` wrote 0 tensors and exited 0, and `re:`
 * selected everything.
 */
const graph = graphOf(readModel(join(REPO, 'models', 'demo-generator.onnx')));

describe('selections that select nothing', () => {
  it.each([
    ['op:NoSuchOp', /The selection term 'op:NoSuchOp' matches no node; the closest op types are/],
    [',', /The selection ',' names nothing/],
    ['', /The selection '' names nothing/],
    ['op:', /The selection term 'op:' is empty; write op:TYPE/],
    ['re:', /The selection term 're:' is empty; write re:PATTERN/],
    ['re:^zzz', /The selection term 're:\^zzz' matches no node or tensor/],
    ['zz*', /The selection term 'zz\*' matches no node or tensor/],
  ])('%j is refused', (spec, message) => {
    expect(() => selectTensors(graph, [spec])).toThrow(message);
  });

  it('a preset may be empty; patterns that match still select', () => {
    expect(selectTensors(graph, ['op:Conv']).length).toBeGreaterThan(0);
    expect(selectTensors(graph, ['@outputs'])).toEqual(['image']);
  });

  it('the CLI exits 2 with one sentence, before calibrating', async () => {
    const r = await runCliInProcess(['compare', join(REPO, 'models', 'demo-generator.onnx'), '--taps', 'op:NoSuchOp'], {
      env: { QUANTSCOPE_CACHE: tempDir('qs-sel-') },
    });
    expect(r.code).toBe(2);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('quantscope:')),
    ).toEqual([expect.stringMatching(/matches no node/)]);
    expect(r.stderr).not.toMatch(/calibrat/);
  });
});

describe('closest names', () => {
  it('finds a name from its abbreviation (conv15 for convolution15) before names at a small edit distance', () => {
    // udnie's names: by edit distance alone the closest to conv15 were crop1 and crop5.
    const names = ['crop1', 'crop5', 'convolution1', 'convolution15'];
    expect(closestNames('conv15', names, 1)).toEqual(['convolution15']);
  });
});
