import { join } from 'node:path';
import { DEFAULT_MAX_MEMORY, parseSize } from '../analysis/memory.js';
import { peakRssMethod, runNode, tail, type ChildResult } from './child.js';
import { figure, type Figure } from './figures.js';
import { BUILT, CLI, REPO, inputOptions, type PreparedModel } from './models.js';
import type { NaiveRunArgs } from './naive-run.js';

/**
 * Section 2: peak resident memory of child processes (see child.ts for how it is read).
 *
 * - `quantscope compare --taps @all` (own error and achievable included) at the default budget
 *   and at a smaller and a larger one, and with a budget large enough for one group;
 * - the naive all-taps run: float and quant runs with every tensor a graph output, both held;
 * - the untapped baseline: the same two runs without taps (model, sessions, onnxruntime's working
 *   memory, the Node runtime).
 *
 * DESIGN.md §8 asks for peak memory within the budget: the figure held to it is what the compare
 * adds over the untapped baseline, measured pair by pair within a repetition.
 */

const MB = 1024 * 1024;
const ONE_GROUP = '64GB';

export interface MemoryOptions {
  readonly reps: number;
  /** Budgets besides the default, e.g. ['128MB', '1GB']. */
  readonly budgets: readonly string[];
  readonly cache: string;
  readonly onStep: (what: string) => void;
}

function checked(what: string, r: ChildResult): ChildResult {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}: ${tail(r.stderr)}`);
  if (r.maxRss === null) throw new Error(`${what}: the peak RSS could not be read (${r.via})`);
  return r;
}

export async function memoryFigures(p: PreparedModel, options: MemoryOptions): Promise<{ figures: Figure[]; method: string }> {
  const id = p.model.id;
  const env = { QUANTSCOPE_CACHE: options.cache };
  const compareArgs = (budget: string): string[] => [
    CLI,
    'compare',
    p.model.path,
    ...p.model.inputArgs,
    '--calibration',
    p.calibrationFile,
    '--taps',
    '@all',
    '--max-memory',
    budget,
    '--json',
    '--quiet',
  ];
  const naiveArgs = (taps: 'all' | 'none'): string[] => {
    const i = inputOptions(p.model);
    const args: NaiveRunArgs = {
      modelPath: p.model.path,
      inputs: i.inputs ?? [],
      preprocess: i.preprocess,
      calibrationFile: p.calibrationFile,
      backends: 'both',
      taps,
    };
    return [join(BUILT, 'bench', 'naive-run.js'), JSON.stringify(args)];
  };
  const defaultBudget = `${DEFAULT_MAX_MEMORY / MB}MB`;
  const budgets = [defaultBudget, ...options.budgets.filter((b) => b !== defaultBudget), ONE_GROUP];
  const rss = new Map<string, number[]>();
  const wall = new Map<string, number[]>();
  const push = (key: string, r: ChildResult): void => {
    rss.set(key, [...(rss.get(key) ?? []), (r.maxRss as number) / MB]);
    wall.set(key, [...(wall.get(key) ?? []), r.ms / 1000]);
  };
  for (let rep = 0; rep < options.reps; rep++) {
    options.onStep(`${id} repetition ${rep + 1}/${options.reps}: untapped baseline, naive all-taps run`);
    push('untapped', checked('the untapped baseline run', await runNode(naiveArgs('none'), { cwd: REPO, env })));
    push('naive', checked('the naive all-taps run', await runNode(naiveArgs('all'), { cwd: REPO, env })));
    for (const b of budgets) {
      options.onStep(`${id} repetition ${rep + 1}/${options.reps}: compare --max-memory ${b}`);
      push(b, checked(`compare --max-memory ${b}`, await runNode(compareArgs(b), { cwd: REPO, env, timeoutMs: 600_000 })));
    }
  }
  const section = 'memory';
  const label = (b: string): string =>
    b === ONE_GROUP ? 'one group (--max-memory 64GB)' : `--max-memory ${b}${b === defaultBudget ? ' (default)' : ''}`;
  const figures: Figure[] = [
    figure(
      { id: `memory.${id}.untapped`, section, model: id, label: 'peak RSS, float + quant runs without taps (baseline)', unit: 'MB' },
      rss.get('untapped') ?? [],
    ),
    figure(
      {
        id: `memory.${id}.naive`,
        section,
        model: id,
        label: 'peak RSS, naive run: every tensor an output, float + quant held',
        unit: 'MB',
      },
      rss.get('naive') ?? [],
    ),
  ];
  for (const b of budgets) {
    figures.push(
      figure(
        { id: `memory.${id}.compare-${b}`, section, model: id, label: `peak RSS, compare @all ${label(b)}`, unit: 'MB' },
        rss.get(b) ?? [],
      ),
    );
  }
  const base = rss.get('untapped') ?? [];
  for (const b of budgets.filter((x) => x !== ONE_GROUP)) {
    const bytes = parseSize(b);
    const over = (rss.get(b) ?? []).map((v, i) => v - base[i]);
    figures.push(
      figure(
        {
          id: `memory.${id}.over-baseline-${b}`,
          section,
          model: id,
          label: `compare ${label(b)}: peak RSS above the baseline`,
          unit: 'MB',
          target:
            b === defaultBudget && id === 'udnie'
              ? { comparator: '<=', value: bytes / MB, source: 'DESIGN.md §8 (within the budget)' }
              : null,
        },
        over,
      ),
    );
  }
  const naive = rss.get('naive') ?? [];
  figures.push(
    figure(
      {
        id: `memory.${id}.ratio-naive`,
        section,
        model: id,
        label: 'compare (default budget) peak / naive peak',
        unit: 'x',
        target: id === 'udnie' ? { comparator: '<=', value: 1, source: 'DESIGN.md §8 (well under the naive run)' } : null,
      },
      (rss.get(defaultBudget) ?? []).map((v, i) => v / naive[i]),
    ),
  );
  for (const b of budgets) {
    figures.push(
      figure(
        { id: `memory.${id}.wall-${b}`, section, model: id, label: `CLI wall time, compare @all ${label(b)}`, unit: 's' },
        wall.get(b) ?? [],
      ),
    );
  }
  return { figures, method: peakRssMethod() === 'gnu-time' ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS at exit' };
}
