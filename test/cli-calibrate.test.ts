import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectBadInput } from './helpers/bad-input.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';
import { writeCalibrationImages } from './helpers/quant-setup.js';

/** `quantscope calibrate` through the built CLI, on the conv-in-relu fixture ([1,3,16,16]) with generated images. */

const MODEL = join(REPO, 'fixtures', 'conv-in-relu.onnx');
let work = '';
let images = '';

beforeAll(async () => {
  work = tempDir('qs-cli-calibrate-');
  images = join(work, 'images');
  await writeCalibrationImages(images, 3);
});

describe('quantscope calibrate', () => {
  it('measures, then reuses the cache; another method reuses the statistics', async () => {
    const cache = join(work, 'cache-a');
    const first = await runCliInProcess(['calibrate', MODEL, '--calib', images, '--json'], { env: { QUANTSCOPE_CACHE: cache } });
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a).toMatchObject({ cached: false, method: 'percentile', percentile: 99.99, profile: 'generic-int8', samples: 3 });
    expect(a.inputs).toHaveLength(3);
    expect(a.inputs[0].source).toBe(join(images, 'calib-0.png'));
    expect(Object.keys(a.ranges)).toEqual(expect.arrayContaining(['x', 'conv1_out', 'norm1_out', 'relu1_out', 'y']));
    expect(a.ranges.relu1_out.min).toBeGreaterThanOrEqual(0);
    expect(a.path.startsWith(cache)).toBe(true);
    expect(existsSync(a.path)).toBe(true);

    const again = await runCliInProcess(['calibrate', MODEL, '--calib', images, '--json'], { env: { QUANTSCOPE_CACHE: cache } });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: a.id, cached: true });

    const minmax = await runCliInProcess(['calibrate', MODEL, '--calib', images, '--method', 'minmax', '--profile', 'int8-fp16'], {
      env: { QUANTSCOPE_CACHE: cache },
    });
    expect(minmax.code, minmax.stderr).toBe(0);
    expect(minmax.stderr).toContain('calibration statistics of 3 sample(s) reused from the cache');
    expect(minmax.stdout).toMatch(/^calibration [0-9a-f]{16} \(measured\): \d+ tensors over 3 sample\(s\), minmax, profile int8-fp16\n/);
  });

  it('shows progress on stderr, writes --out, and --no-cache measures again', async () => {
    const cache = join(work, 'cache-b');
    const out = join(work, 'table.json');
    const r = await runCliInProcess(['calibrate', MODEL, '--calib', images, '--out', out, '--method', 'entropy'], {
      env: { QUANTSCOPE_CACHE: cache },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^calibrate 3\/3 \(100%\) 3 sample\(s\), \d+ tensors; done in \d+ s$/m);
    const table = JSON.parse(readFileSync(out, 'utf8'));
    expect(table).toMatchObject({ schemaVersion: 1, method: 'entropy', samples: 3 });
    const again = await runCliInProcess(['calibrate', MODEL, '--calib', images, '--method', 'entropy', '--no-cache', '--json', '-q'], {
      env: { QUANTSCOPE_CACHE: cache },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({ id: table.id, cached: false });
  });

  it('an empty calibration folder: exit 2, one sentence', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'notes.md'), 'no images here');
    expectBadInput(
      await runCliInProcess(['calibrate', MODEL, '--calib', empty]),
      /Calibration folder '.*empty' holds no image or tensor file/,
    );
  });

  it('an image that cannot be decoded: exit 2, one sentence', async () => {
    const bad = join(work, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'broken.png'), 'this is not a PNG');
    expectBadInput(await runCliInProcess(['calibrate', MODEL, '--calib', bad]), /Image '.*broken\.png' cannot be decoded/);
  });

  it('a profile with a wrong field: exit 2, one sentence', async () => {
    const file = join(work, 'profile.json');
    const profile = JSON.parse(readFileSync(join(REPO, 'src', 'quant', 'profiles', 'generic-int8.json'), 'utf8'));
    writeFileSync(file, JSON.stringify({ ...profile, fusoin: profile.fusion, fusion: undefined }));
    expectBadInput(
      await runCliInProcess(['calibrate', MODEL, '--calib', images, '--profile', file]),
      /field 'fusoin' is not a profile field \(did you mean 'fusion'\?\)/,
    );
  });

  it.each([
    [['calibrate', MODEL], /Missing required argument: calib/],
    [['calibrate', MODEL, '--calib', 'no-such-folder'], /Calibration path 'no-such-folder' does not exist/],
    [['calibrate', MODEL, '--calib', images, '--method', 'median'], /--method 'median' is not one of minmax, percentile, entropy, mse\./],
  ])('%j: exit 2', async (args, message) => {
    const r = await runCliInProcess(args as string[]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
