import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const INCLUDE = ['test/**/*.test.ts', 'test/**/*.test.tsx'];

/**
 * The slow files, slowest first (measured on 2 cores): real models from ../shared or long CLI
 * stories. They start first, so the longest one does not begin when the others are done and
 * leave a worker idle. Their slow cases are tagged `slow` (`npm run test:quick` leaves them out).
 */
const SLOW_FIRST = [
  'test/app-fix.test.ts',
  'test/app-check.test.ts',
  'test/advisor-runnable.test.ts',
  'test/cli-compare.test.ts',
  'test/quant-udnie.test.ts',
  'test/robust-interrupt.test.ts',
  'test/tui-e2e.test.ts',
  'test/gate-defaults.test.ts',
  'test/cli-demo.test.ts',
  'test/cli-foundation.test.ts',
  'test/bench-smoke.test.ts',
];

/**
 * Files that time the CLI against the wall clock (a SIGINT must end a run within a second): they
 * run on their own, after the rest, so another file's model runs do not take their cores.
 */
const ALONE = ['test/cli-cancel-latency.test.ts'];

/** Orders files as SLOW_FIRST says, then the rest as vitest would (longest first by its last run, else largest). */
class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const i = SLOW_FIRST.indexOf(relative(spec.project.config.root, spec.moduleId));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    const group = (spec: TestSpecification): number => spec.project.config.sequence.groupOrder ?? 0;
    // Array.prototype.sort is stable: equal ranks keep vitest's own order.
    return sorted.sort((a, b) => group(a) - group(b) || rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: a single one on 2 cores, which ran the
    // files one after another. Most of the suite is single-threaded (onnxruntime's QDQ runs use
    // about one core), so two files at a time keep 2 cores busy; more on bigger machines, at most
    // 4 (a real-model file peaks near 2 GB).
    maxWorkers: Math.min(4, Math.max(2, availableParallelism())),
    globalSetup: ['test/global-setup.ts'],
    // One onnxruntime thread per session (src/backends/session.ts): with two files side by side on
    // 2 cores, a second thread per session only competes; measured on udnie, one thread ran its
    // QDQ model in 1.0 s against 1.5 s with the default, with the same output bytes.
    env: { QUANTSCOPE_ORT_THREADS: process.env.QUANTSCOPE_ORT_THREADS ?? '1' },
    sequence: { sequencer: SlowFirst },
    tags: [{ name: 'slow', description: 'an end-to-end case on a real model or a long CLI run (tens of seconds)' }],
    projects: [
      // `include` is set per project: a project that extends the root adds to the root's lists.
      { extends: true, test: { name: 'suite', include: INCLUDE, exclude: [...configDefaults.exclude, ...ALONE] } },
      { extends: true, test: { name: 'timed', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
