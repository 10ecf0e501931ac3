import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMetric } from '../src/ui/format.js';
import { CLI, REPO, SHARED, tempDir } from './helpers/cli.js';
import { HAS_TMUX, Tmux } from './helpers/tmux.js';

/**
 * Drives the real binary in a real terminal: tmux at 80x24 on its own server socket, keys sent
 * with send-keys, the screen read back with capture-pane (polled, never fixed sleeps).
 */
const UDNIE = join(SHARED, 'models', 'udnie.onnx');
const HAS_UDNIE = existsSync(UDNIE) && existsSync(join(SHARED, 'images', 'fish_720.png')) && existsSync(join(SHARED, 'images', 'cat.jpg'));
if (!HAS_TMUX) console.log('skipping the TUI end-to-end test: tmux is not installed');
else if (!HAS_UDNIE) console.log(`skipping the TUI end-to-end test: ${UDNIE} or its images are absent`);

const RUN_OPTIONS = [
  '--input',
  'inputImage=../shared/images/fish_720.png',
  '--calib',
  '../shared/images/cat.jpg',
  '--preprocess',
  'size=720x720',
  // At 0.9999 the generic-int8 output (cosine ~0.9997) fails, so bisect has a culprit to find.
  '--threshold',
  '0.9999',
];

function compareJson(
  cache: string,
  taps: readonly string[],
): Promise<{
  rows: { tensor: string; metrics: { cosine: number; snrDb: number | string }; own: { cosine: number; snrDb: number | string } | null }[];
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'compare', '../shared/models/udnie.onnx', ...RUN_OPTIONS, '--taps', ...taps, '--json'], {
      cwd: REPO,
      env: { ...process.env, QUANTSCOPE_CACHE: cache },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`compare exited ${code}: ${err}`))));
  });
}

describe.skipIf(!HAS_TMUX || !HAS_UDNIE)('quantscope tui in tmux on udnie', { tags: ['slow'] }, () => {
  it('filters, taps three InstanceNormalization nodes, runs with the same metrics as compare --json, and bisects', async () => {
    const cache = tempDir('qs-tui-e2e-cache-');
    const emitDir = tempDir('qs-tui-e2e-emit-');
    const tmux = new Tmux('tui');
    const args = ['tui', '../shared/models/udnie.onnx', ...RUN_OPTIONS, '--emit-dir', emitDir].map((a) => `'${a}'`).join(' ');
    // ink draws only the final frame when a CI variable is set; the command runs as a user would.
    tmux.start(
      `cd '${REPO}' && env -u CI -u CONTINUOUS_INTEGRATION QUANTSCOPE_CACHE='${cache}' '${process.execPath}' '${CLI}' ${args}; echo "EXIT=$?"; sleep 30`,
      80,
      24,
    );
    try {
      await tmux.waitFor(/udnie · 59 nodes · 0 taps\s+graph · idle/, 'the graph screen');
      tmux.keys('/');
      await tmux.waitFor(/type filter/, 'filter editing');
      tmux.type('op:InstanceNormalization');
      tmux.keys('Enter');
      await tmux.waitFor(/filter op:InstanceNormalization\s+15 of 59/, 'the filter applied');
      tmux.keys('Space', 'Space', 'Space');
      await tmux.waitFor(/3 taps/, 'three taps');
      tmux.keys('r');
      const results = await tmux.waitFor(/results · idle/, 'the comparison results', 150_000);

      // Rows: marks, index, tensor, op, accumulated and own error in the report's metric (SNR by default), verdict.
      const shown = new Map<string, { acc: string; own: string }>();
      for (const line of results.split('\n')) {
        const m = /^[› ][▶ ][✓✗]\s+\d+ (\S+)(?: ← \S+)?\s+\S+\s+(\S+)\s+(\S+) \w+/.exec(line);
        if (m) shown.set(m[1], { acc: m[2], own: m[3] });
      }
      const taps = ['InstanceNormalization_5', 'InstanceNormalization_8', 'InstanceNormalization_11'];
      expect([...shown.keys()]).toEqual([...taps, 'outputImage']);

      tmux.keys('b');
      const json = await compareJson(cache, taps);
      expect(json.rows.map((r) => r.tensor)).toEqual([...taps, 'outputImage']);
      for (const row of json.rows) {
        expect(shown.get(row.tensor), row.tensor).toEqual({
          // report.json writes an infinite SNR as the string "Infinity".
          acc: formatMetric('snrDb', Number(row.metrics.snrDb)),
          own: formatMetric('snrDb', row.own ? Number(row.own.snrDb) : null),
        });
      }

      const bisected = await tmux.waitFor(/bisect · idle/, 'the bisect result', 150_000);
      const culprit = /^culprit (\S+) \((\w+)\) → (\S+)$/m.exec(bisected);
      expect(culprit, bisected).not.toBeNull();
      // Values in the default gate's metric, SNR in dB.
      expect(bisected).toMatch(/^at the culprit \S+ -?\d+\.\d ✗$/m);
      expect(bisected).toMatch(/^Enter applies the plan: \S+=int16/m);
      // Each probe row: step, range, tensor, op, value, the verdict with the threshold it was judged by.
      const probes = bisected.split('\n').filter((l) => /^\s+\d+ (\d+\.\.\d+|certify)\s+\S+.*(\d\.\d|exact) (pass|FAIL) [≥≤]\S+$/.test(l));
      expect(probes.length).toBeGreaterThanOrEqual(3);

      tmux.keys('q');
      await tmux.waitFor(/EXIT=0/, 'a clean exit', 10_000);
    } finally {
      tmux.stop();
    }
  }, 360_000);
});
