import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from './helpers/cli.js';

/**
 * The benchmark harness itself (not its figures): `dist-tools/bench/run.js --quick` measures the
 * demo model in a few seconds and writes a complete results file. The full benchmark is `npm run
 * bench` and is not part of the test suite. The benchmark is a tool, built by tsconfig.tools.json
 * (the global setup builds the product alone), so this file builds it first.
 */
const RUN = join(REPO, 'dist-tools', 'bench', 'run.js');

beforeAll(() => {
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.tools.json')], {
    stdio: 'inherit',
  });
});
const HAS_TMUX = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
if (!HAS_TMUX) console.log('the bench smoke test runs without its TUI section: tmux is not installed');

interface Results {
  schemaVersion: number;
  quick: boolean;
  machine: { cores: number; memoryBytes: number; node: string; onnxruntime: string };
  load: { before: number[]; after: number[] };
  sections: { section: string; seconds: number; error?: string }[];
  skipped: { section: string; reason: string }[];
  figures: {
    id: string;
    section: string;
    unit: string;
    samples: number[];
    median: number;
    min: number;
    max: number;
    met: boolean | null;
  }[];
}

describe('npm run bench -- --quick', () => {
  it('runs every section on the demo model and writes bench results with machine facts', { tags: ['slow'], timeout: 150_000 }, () => {
    const dir = tempDir('qs-bench-smoke-');
    const out = join(dir, 'results.json');
    const r = spawnSync(process.execPath, [RUN, '--quick', '--out', out, '--cache', join(dir, 'cache')], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const results = JSON.parse(readFileSync(out, 'utf8')) as Results;
    expect(results.schemaVersion).toBe(1);
    expect(results.quick).toBe(true);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.memoryBytes).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.load.before).toHaveLength(3);
    expect(results.sections.filter((s) => s.error)).toEqual([]);
    expect(results.skipped.map((s) => s.section)).toContain('udnie');

    const ids = results.figures.map((f) => f.id);
    for (const id of [
      'metrics.plain.cpu',
      'startup.inspect.demo',
      'compare.demo.floor',
      'compare.demo.ratio-plain',
      'compare.demo.ratio-full',
      'bisect.demo.runs',
      'bisect.demo.ratio',
      'fix.demo.ratio',
      'fix.demo.runs',
      'memory.demo.compare-256MB',
      'memory.demo.naive',
      ...(HAS_TMUX ? ['tui.first-frame', 'tui.keypress'] : []),
    ]) {
      expect(ids, id).toContain(id);
    }
    for (const f of results.figures) {
      // The demo's compare can end before a key lands on a loaded machine: no keypress sample then.
      if (f.id === 'tui.keypress' && f.samples.length === 0) continue;
      expect(f.samples.length, f.id).toBeGreaterThan(0);
      expect(Number.isFinite(f.median), f.id).toBe(true);
      expect(f.min <= f.median && f.median <= f.max, f.id).toBe(true);
    }
    // Bisect on the demo finds its planted hazard within ⌈log2 N⌉ + 2 quant runs.
    expect(results.figures.find((f) => f.id === 'bisect.demo.runs')?.met).toBe(true);
    // The table went to stdout, the progress to stderr.
    expect(r.stdout).toMatch(/compare\s*│\s*demo/);
    expect(r.stdout).toContain(`wrote ${out}`);
    expect(r.stderr).toMatch(/load average/);
  });

  it('refuses an unknown section before measuring anything', () => {
    const r = spawnSync(process.execPath, [RUN, '--only', 'nonsense'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown section 'nonsense'/);
  });
});
