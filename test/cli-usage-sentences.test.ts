import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneSentence } from '../src/cli/cli.js';
import { REPO, runCliInProcess } from './helpers/cli.js';

/**
 * Usage errors are one sentence (issue 14): yargs choice errors were two lines, and an option of
 * a few choices given with no value (`run --backend`) silently ran its default.
 */
const DEMO = join(REPO, 'models', 'demo-generator.onnx');

describe('usage errors in one sentence', () => {
  it.each([
    [['run', DEMO, '--backend'], 'quantscope: --backend needs a value. (see quantscope --help)'],
    [['run', DEMO, '--backend', '--out', 'x'], 'quantscope: --backend needs a value. (see quantscope --help)'],
    [['run', DEMO, '--backend', 'nope'], "quantscope: --backend 'nope' is not one of float, quant, both. (see quantscope --help)"],
    [['fix', DEMO, '--strategy', 'x'], "quantscope: --strategy 'x' is not one of bisect, sensitivity. (see quantscope --help)"],
  ])('%j', async (args, line) => {
    const r = await runCliInProcess(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([line]);
  });

  it('joins any other multi-line message', () => {
    expect(oneSentence('Not enough arguments\n  following: model')).toBe('Not enough arguments following: model');
  });
});
