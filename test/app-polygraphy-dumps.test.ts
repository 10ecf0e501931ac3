import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareDumps } from '../src/app/compare/compare-dumps.js';
import { openModel } from '../src/app/context.js';
import { setUpQuant } from '../src/app/quant-setup.js';
import { runModel } from '../src/app/run.js';
import { readManifest } from '../src/store/manifest.js';
import { readRunTensor } from '../src/store/run-dir.js';
import { REPO, isolatedCache } from './helpers/cli.js';

/**
 * Dumps from other tools as --ref/--test (issue 17): Polygraphy's `--save-outputs` JSON, written
 * here by numpy exactly as Polygraphy encodes arrays (np.save bytes in base64), and text dumps of
 * one `%8.3f` value per line whose shape comes from the model.
 */

const work = isolatedCache('qs-polygraphy-');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const MODEL = join(REPO, 'models', 'demo-generator.onnx');

/** Python with numpy writes a RunResults JSON with two runners from two directories of .npy files. */
function polygraphyJson(file: string, runners: Record<string, string>): void {
  const script = `
import base64, io, json, os, sys
import numpy as np
runners = json.loads(sys.argv[2])
lst = []
for runner, folder in runners.items():
    outputs = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith('.npy'): continue
        name = json.loads(open(os.path.join(folder, f + '.name')).read())
        buf = io.BytesIO(); np.save(buf, np.load(os.path.join(folder, f)), allow_pickle=False)
        arr = {"array": base64.b64encode(buf.getvalue()).decode(), "polygraphy_class": "ndarray"}
        outputs[name] = {"values": arr, "polygraphy_class": "LazyNumpyArray"}
    lst.append([runner, [{"outputs": outputs, "runtime": 0.01, "runner_name": runner, "polygraphy_class": "IterationResult"}]])
json.dump({"lst": lst, "polygraphy_class": "RunResults"}, open(sys.argv[1], 'w'))
`;
  execFileSync('python3', ['-c', script, file, JSON.stringify(runners)]);
}

describe('dumps from other tools', () => {
  it("Polygraphy's saved outputs: each runner read as a dump directory, the same numbers as the run's own files", async () => {
    const ctx = await openModel({ modelPath: MODEL });
    const quant = await setUpQuant(ctx, {});
    const run = join(work, 'run');
    await runModel({ ctx, quant, backend: 'both', taps: ['@all'], outDir: run } as Parameters<typeof runModel>[0]);
    // Name files for the script: one .name file of JSON beside each .npy.
    const manifest = readManifest(run);
    for (const entry of manifest.tensors) writeFileSync(join(run, `${entry.file}.name`), JSON.stringify(entry.name));
    const file = join(work, 'outputs.json');
    polygraphyJson(file, {
      'onnxrt-runner-N0-12/04/26-00:00:00': join(run, 'float'),
      'trt-runner-N0-12/04/26-00:00:00': join(run, 'quant'),
    });
    const logs: string[] = [];
    const fromJson = await compareDumps({
      refDir: `${file}#onnxrt`,
      testDir: `${file}#trt`,
      modelPath: MODEL,
      onProgress: (e) => {
        if (e.type === 'log') logs.push(e.message);
      },
    });
    const direct = await compareDumps({ refDir: run, testDir: run, modelPath: MODEL });
    const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith('quantscope-polygraphy-')).length;
    expect(fromJson.report.rows.map((r) => [r.tensor, r.metrics?.snrDb])).toEqual(
      direct.report.rows.map((r) => [r.tensor, r.metrics?.snrDb]),
    );
    expect(fromJson.report.rows.length).toBeGreaterThan(30);
    expect(logs.join('\n')).toContain("--ref: 41 tensor(s) of Polygraphy runner 'onnxrt-runner-N0-12/04/26-00:00:00' (one of 2 runners");
    // The temporary directories are removed, on success and on a refused runner alike.
    const before = leftovers();
    await compareDumps({ refDir: `${file}#onnxrt`, testDir: `${file}#trt` });
    await expect(compareDumps({ refDir: `${file}#onnxrt`, testDir: `${file}#nosuch` })).rejects.toThrow(/no runner/);
    expect(leftovers()).toBe(before);
  });

  it('a runner that does not exist is refused in one sentence naming the runners', async () => {
    const file = join(work, 'one.json');
    writeFileSync(file, JSON.stringify({ lst: [['onnxrt-runner', [{ outputs: {} }]]] }));
    await expect(compareDumps({ refDir: `${file}#trt`, testDir: `${file}#onnxrt` })).rejects.toThrow(
      `Polygraphy outputs '${file}': no runner is named or starts with 'trt' (runners: 'onnxrt-runner').`,
    );
  });

  it('text dumps of one %8.3f value per line take their shape from the model and compare within the rounding', async () => {
    const run = join(work, 'run');
    const manifest = readManifest(run);
    const text = join(work, 'device');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(text, { recursive: true });
    const map: Record<string, string> = {};
    for (const entry of manifest.tensors.filter((e) => e.backend === 'quant')) {
      const t = readRunTensor(run, entry);
      const lines = Array.from(t.data as Float32Array, (v) => v.toFixed(3).padStart(8)).join('\n');
      const name = `dump_${Object.keys(map).length}.txt`;
      writeFileSync(join(text, name), `${lines}\n`);
      map[entry.name] = name;
    }
    const mapFile = join(work, 'map.json');
    writeFileSync(mapFile, JSON.stringify(map));
    const result = await compareDumps({ refDir: join(run, 'float'), testDir: text, mapFile, modelPath: MODEL });
    const image = result.report.rows.find((r) => r.tensor === 'image');
    expect(image?.shape).toEqual([1, 3, 64, 64]);
    expect(image?.metrics?.count).toBe(3 * 64 * 64);
    // The same comparison as the run's own quant files, within the 0.0005 of the text's rounding.
    const direct = await compareDumps({ refDir: run, testDir: run, modelPath: MODEL });
    const exact = direct.report.rows.find((r) => r.tensor === 'image')?.metrics?.maxAbs ?? NaN;
    expect(Math.abs((image?.metrics?.maxAbs ?? NaN) - exact)).toBeLessThanOrEqual(0.0005 + 1e-6);
  });
});
