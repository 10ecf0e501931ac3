import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { FixView, JobOutcome } from '../src/app/session/session-jobs.js';
import { App } from '../src/ui/components/App.js';
import { frame, useDemoSession } from './helpers/ui-app.js';
import { demoReport, KEYS, metrics, scriptedRunner, waitFor } from './helpers/ui-fakes.js';

/** The workbench behaviours of the TUI: modal keys, search, sort, jumps, plans, runs, settings, findings. */
const ui = useDemoSession();

async function start() {
  const runner = scriptedRunner();
  const app = render(<App session={ui.demo()} runner={runner} width={80} height={24} />);
  ui.track(app);
  await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
  return { app, runner };
}

const screen = (app: ReturnType<typeof render>) => () => frame(app);

/** Runs a compare through the scripted runner and waits for the results screen. */
async function compared(app: ReturnType<typeof render>, runner: ReturnType<typeof scriptedRunner>, report = demoReport()) {
  const before = runner.jobs.length;
  app.stdin.write('r');
  await waitFor(() => runner.jobs.length === before + 1, 'the compare job');
  runner.jobs[before].finish({ kind: 'compare', report, taps: [] } satisfies JobOutcome);
  await waitFor(() => frame(app).includes('results · idle'), 'the results', 3000, screen(app));
}

const LONG_FINDING = {
  rule: 'metric-blind-spot' as const,
  severity: 'warning' as const,
  tensors: ['image'],
  message:
    "'image' passes cosine >= 0.99 with cosine 0.999712, but its PSNR is 27.3 dB (SNR 21.9 dB; RMS error 3.4 on a peak of 255): an image below 40 dB is visibly off. Cosine compares directions, and the output rides on an offset.",
  suggestion: 'Trust PSNR (or SNR) for this output, not cosine: gate it with --metric psnrDb --threshold 40.',
};

describe('the workbench at 80x24', () => {
  it('shows a long finding whole in the findings pane (F), wrapped, its PSNR figure on screen', async () => {
    const { app, runner } = await start();
    await compared(app, runner, { ...demoReport(), findings: [LONG_FINDING] });
    expect(frame(app)).toContain('F shows them in full');
    app.stdin.write('F');
    await waitFor(() => frame(app).includes('Findings (1)'), 'the findings pane', 3000, screen(app));
    const text = frame(app).replace(/\s*\n\s*/g, ' ');
    expect(text).toContain('its PSNR is 27.3 dB');
    expect(text).toContain('gate it with --metric psnrDb --threshold 40.');
    for (const line of frame(app).split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('results · idle'), 'Enter: the tensor in the results');
    expect(frame(app)).toMatch(/›.*\bimage\b/);
  });

  it('says so when a key means nothing on a screen, and / searches the results instead of starting work', async () => {
    const { app, runner } = await start();
    await compared(app, runner);
    app.stdin.write('Z');
    await waitFor(() => frame(app).includes('Z does nothing on the results screen; ? lists the keys'), 'the message');
    // `/b24` once started a bisect: now the prompt takes every key.
    app.stdin.write('/');
    await waitFor(() => /^search:/m.test(frame(app)), 'the search prompt');
    app.stdin.write('b24');
    await waitFor(() => frame(app).includes("no match for 'b24'"), 'no match', 3000, screen(app));
    expect(runner.jobs).toHaveLength(1);
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('search cancelled'), 'the prompt closed');
    app.stdin.write('/');
    await waitFor(() => /^search:/m.test(frame(app)), 'the search prompt');
    app.stdin.write('norm');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes("'norm': row 2 of 3, 1 match"), 'the match', 3000, screen(app));
    expect(frame(app)).toMatch(/›.*fuse_norm_out/);
  });

  it('sorts by accumulated error worst first (S), inverts (I), and jumps to the node in the graph and back (l)', async () => {
    const { app, runner } = await start();
    await compared(app, runner);
    app.stdin.write('S');
    await waitFor(() => frame(app).includes('sorted by accumulated error'), 'the sort', 3000, screen(app));
    const order = (): string[] =>
      frame(app)
        .split('\n')
        .filter((l) => /^[› ][▶ ][✓✗]/.test(l))
        .map((l) => /(branch_concat_out|fuse_norm_out|image)\s/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined);
    expect(order()).toEqual(['fuse_norm_out', 'image', 'branch_concat_out']);
    app.stdin.write('I');
    await waitFor(() => order()[0] === 'branch_concat_out', 'the inverted order', 3000, screen(app));
    // The cursor stays on its row through a sort; g goes to the top.
    expect(frame(app)).toMatch(/^›.*fuse_norm_out/m);
    app.stdin.write('g');
    await waitFor(() => /^›.*branch_concat_out/m.test(frame(app)), 'the top row');
    app.stdin.write('l');
    await waitFor(() => frame(app).includes('graph · idle'), 'the graph', 3000, screen(app));
    expect(frame(app)).toMatch(/^›.*branch_concat/m);
    app.stdin.write('l');
    await waitFor(() => frame(app).includes('results · idle'), 'back to the results', 3000, screen(app));
    expect(frame(app)).toMatch(/›.*branch_concat_out/);
  });

  it('refuses plan edits while a job runs, marks the plan unmeasured, and asks before quitting with unsaved edits', async () => {
    let quit = 0;
    const runner = scriptedRunner();
    const app = render(<App session={ui.demo()} runner={runner} width={80} height={24} onQuit={() => quit++} />);
    ui.track(app);
    await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
    app.stdin.write('p');
    await waitFor(() => frame(app).includes('plan: 1 edit, NOT measured, unsaved'), 'the edit', 3000, screen(app));
    app.stdin.write('f');
    await waitFor(() => runner.jobs.length === 1, 'the fix job');
    app.stdin.write(KEYS.tab);
    app.stdin.write('u');
    await waitFor(() => frame(app).includes('fix is running on the plan as it was'), 'the refusal', 3000, screen(app));
    expect(frame(app)).toContain('plan: 1 edit, NOT measured');
    const fix: FixView = {
      metric: 'cosine',
      goal: 'cosine>=0.999',
      reached: true,
      overrides: [['fuse_conv', 'int16']],
      promoted: ['fuse_conv'],
      macShare: 0.1,
      weightShare: 0.2,
      outputs: [{ tensor: 'image', value: 0.9997, pass: true }],
      summary: 'target met',
    };
    runner.jobs[0].finish({ kind: 'fix', result: fix });
    await waitFor(() => frame(app).includes('fix done'), 'the fix result', 3000, screen(app));
    app.stdin.write('q');
    await waitFor(() => frame(app).includes('not saved: q quits anyway, w saves, Esc stays'), 'the question', 3000, screen(app));
    expect(quit).toBe(0);
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('quit cancelled'), 'staying');
    app.stdin.write('q');
    app.stdin.write('q');
    await waitFor(() => quit === 1, 'the second q quitting');
  });

  it('keeps the runs of the session and compares two tensor by tensor (R)', async () => {
    const { app, runner } = await start();
    await compared(app, runner);
    const better = demoReport();
    const rows = better.rows.map((r) => (r.tensor === 'image' ? { ...r, metrics: metrics({ cosine: 0.9991 }), pass: true } : r));
    await compared(app, runner, { ...better, rows });
    app.stdin.write('R');
    await waitFor(() => frame(app).includes('Runs (2)'), 'the runs', 3000, screen(app));
    app.stdin.write(KEYS.down);
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('Run #2 against baseline #1'), 'the diff', 3000, screen(app));
    expect(frame(app)).toMatch(/1 better · 0 worse · 2 unchanged/);
    expect(frame(app)).toMatch(/image\s+0\.881670\s+0\.999100\s+\+0\.117430\s+▲ better/);
  });

  it('names the metric of the gate before any run (SNR by default, not cosine)', async () => {
    const { app } = await start();
    expect(frame(app).split('\n')[3]).toMatch(/prec\s+SNR dB/);
  });

  it('changes the gate on the settings screen (s): checked first, applied, the header follows, the results turn stale', async () => {
    const { app, runner } = await start();
    await compared(app, runner);
    app.stdin.write('s');
    await waitFor(() => frame(app).includes('settings · idle'), 'the settings screen', 3000, screen(app));
    app.stdin.write(KEYS.enter);
    await waitFor(() => /^gate metric:/m.test(frame(app)), 'the metric prompt', 3000, screen(app));
    app.stdin.write('nosuch');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes("'nosuch' is not a metric"), 'the refusal', 3000, screen(app));
    app.stdin.write(KEYS.enter);
    await waitFor(() => /^gate metric:/m.test(frame(app)), 'the metric prompt again');
    app.stdin.write('psnrDb');
    app.stdin.write(KEYS.enter);
    // PSNR has no default threshold: the draft cannot be applied until it has one.
    await waitFor(() => frame(app).includes('cannot apply: Metric psnrDb needs a threshold'), 'the draft checked', 3000, screen(app));
    app.stdin.write('a');
    await waitFor(() => frame(app).includes('Metric psnrDb needs a threshold'), 'apply refused');
    app.stdin.write(KEYS.down);
    app.stdin.write(KEYS.enter);
    await waitFor(() => /^threshold:/m.test(frame(app)), 'the threshold prompt', 3000, screen(app));
    app.stdin.write('35');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('a applies (compare results turn stale'), 'the draft checked', 3000, screen(app));
    app.stdin.write('a');
    await waitFor(() => frame(app).includes('settings applied'), 'applied', 3000, screen(app));
    expect(frame(app).split('\n')[1]).toContain('gate psnrDb≥35');
    app.stdin.write(KEYS.tab);
    await waitFor(() => frame(app).includes('STALE (settings changed; r runs again)'), 'the stale results', 3000, screen(app));
    // The graph's metric column holds the same old values: it says so too.
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('graph · idle'), 'the graph', 3000, screen(app));
    expect(frame(app).split('\n')[3]).toMatch(/prec\s+STALE$/);
    app.stdin.write(KEYS.tab);
    await waitFor(() => frame(app).includes('results · idle'), 'the results again', 3000, screen(app));
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 2, 'the next compare');
    expect(runner.jobs[1].request.settings?.metric).toBe('psnrDb');
  });
});

describe('the graph filter says what it found', () => {
  it('lists every preset, shows a regex error in full while typing, and names the closest nodes when nothing matches', async () => {
    const { app } = await start();
    expect(frame(app)).toContain('1 hotspots 2 quant 3 outputs 4 hot ops 0 all');
    app.stdin.write('/');
    await waitFor(() => frame(app).includes('type filter'), 'filter editing');
    app.stdin.write('re:([');
    await waitFor(() => /regular expression .* is invalid/.test(frame(app)), 'the whole error on the status line', 3000, screen(app));
    app.stdin.write(KEYS.escape);
    await waitFor(() => !frame(app).includes('type filter'), 'the filter closed');
    app.stdin.write('/');
    await waitFor(() => frame(app).includes('type filter'), 'filter editing');
    app.stdin.write('fuse_cnv');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes("no node matches 'fuse_cnv'; closest: fuse_conv"), 'the suggestion', 3000, screen(app));
  });
});

describe('probe rows explain themselves', () => {
  it('a fix promotion names its region and the outputs before → after; a probe without a value says why', async () => {
    const { app, runner } = await start();
    app.stdin.write('f');
    await waitFor(() => runner.jobs.length === 1, 'the fix job');
    const base = {
      range: 'round 2',
      node: 'fuse_conv',
      opType: 'promote',
      metric: 'snrDb' as const,
      threshold: 30,
      comparison: '≥' as const,
    };
    runner.jobs[0].emit({
      type: 'probe',
      probe: {
        ...base,
        step: 1,
        tensor: 'image',
        kind: 'promote',
        value: 36.6,
        before: 10.4,
        pass: true,
        region: [{ node: 'fuse_conv', opType: 'Conv', from: 'int8', to: 'int16' }],
      },
    });
    runner.jobs[0].emit({
      type: 'probe',
      probe: { ...base, step: 2, tensor: 'res1_out', kind: 'search', value: null, pass: false, reason: 'NaN introduced' },
    });
    await waitFor(() => frame(app).includes('2 probes so far'), 'the rows', 3000, screen(app));
    // The newest probe (under the cursor while the fix runs) in one whole sentence under the list.
    expect(frame(app)).toContain('#2 res1_out (promote): snrDb — · FAIL snrDb ≥ 30 — NaN introduced');
    expect(frame(app)).toMatch(/res1_out — NaN introduced\s+promote\s+— FAIL ≥30/);
    runner.jobs[0].finish({
      kind: 'fix',
      result: {
        metric: 'snrDb',
        goal: 'snrDb>=30',
        reached: true,
        overrides: [['fuse_conv', 'int16']],
        promoted: ['fuse_conv'],
        macShare: 0.1,
        weightShare: 0.2,
        outputs: [],
        summary: 'target met',
      },
    });
    await waitFor(() => frame(app).includes('fix · idle'), 'the result', 3000, screen(app));
    app.stdin.write('g');
    await waitFor(
      () => frame(app).includes('#1 promote fuse_conv int8→int16: 10.4 → 36.6 · pass snrDb ≥ 30'),
      'the promotion, whole',
      3000,
      screen(app),
    );
  });
});

describe('plans as files', () => {
  it('w saves the plan, o opens it back as the edits; a bad path says so in one sentence', async () => {
    const { app } = await start();
    const dir = mkdtempSync(join(tmpdir(), 'qs-ui-plan-'));
    const file = join(dir, 'mine.plan.json');
    app.stdin.write('p');
    await waitFor(() => frame(app).includes('plan: 1 edit, NOT measured, unsaved'), 'the edit', 3000, screen(app));
    app.stdin.write('w');
    await waitFor(() => /^save the plan to:/m.test(frame(app)), 'the save prompt', 3000, screen(app));
    app.stdin.write('\x15');
    app.stdin.write(file);
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes(`plan saved to ${file}`), 'saved', 3000, screen(app));
    expect(frame(app)).toContain('plan: 1 edit, NOT measured ·');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { profile: string; overrides: Record<string, string> };
    expect(saved.profile).toBe('generic-int8');
    expect(Object.keys(saved.overrides)).toEqual(['content_center']);
    app.stdin.write('u');
    await waitFor(() => frame(app).includes('plan: base'), 'undone', 3000, screen(app));
    app.stdin.write('o');
    await waitFor(() => /^open the plan file:/m.test(frame(app)), 'the open prompt', 3000, screen(app));
    app.stdin.write('\x15');
    app.stdin.write(join(dir, 'missing.json'));
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('missing.json'), 'the refusal', 3000, screen(app));
    expect(frame(app)).toContain('plan: base');
    app.stdin.write('o');
    await waitFor(() => /^open the plan file:/m.test(frame(app)), 'the open prompt');
    app.stdin.write('\x15');
    app.stdin.write(file);
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('plan: 1 edit, NOT measured ·'), 'the plan opened, saved (no unsaved mark)', 3000, screen(app));
    expect(frame(app)).toMatch(/content_center\s+1x3x64x64\s+\S+\*/);
  });
});

describe('the plan screen', () => {
  it('P shows the whole plan: the edits, the overrides it started from, and every node away from its default', async () => {
    const { app } = await start();
    app.stdin.write('p');
    await waitFor(() => frame(app).includes('plan: 1 edit'), 'the edit');
    app.stdin.write('P');
    await waitFor(() => frame(app).includes('plan · idle'), 'the plan screen', 3000, screen(app));
    const text = frame(app);
    expect(text).toContain('edits of this session (1)');
    expect(text).toMatch(/content_center = \w+/);
    expect(text).toContain('from the plan file and --precision (0)');
    expect(text).toMatch(/nodes away from the profile's default \(1\)\n\s+#0 content_center \(Sub\) fp32 → \w+/);
    expect(text.replace(/\s*\n\s*/g, ' ')).toContain('not saved (w saves it)');
  });
});

describe('progress on the status line', () => {
  it('a stage without a count says it is working (no blank), a counted one shows counts and the time left from its pace; Esc cancels', async () => {
    let clock = 1_000_000;
    const runner = scriptedRunner();
    const app = render(<App session={ui.demo()} runner={runner} width={80} height={24} now={() => clock} />);
    ui.track(app);
    await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 1, 'the compare job');
    const job = runner.jobs[0];
    job.emit({ type: 'stage', stage: 'calibrate' });
    await waitFor(() => /working\s+compare: calibrate/.test(frame(app)), 'the unknown count', 3000, screen(app));
    job.emit({ type: 'progress', stage: 'compare', done: 1, total: 4 });
    await waitFor(() => frame(app).includes('compare 1/4'), 'the count', 3000, screen(app));
    expect(frame(app)).not.toContain('left');
    clock += 2000;
    job.emit({ type: 'progress', stage: 'compare', done: 3, total: 4 });
    // 2 steps in 2 s since the first count: 1 s a step, 1 step to go.
    await waitFor(() => frame(app).includes('compare 3/4') && frame(app).includes('~1.0 s left'), 'the time left', 3000, screen(app));
    expect(frame(app)).toMatch(/Esc cancels$/m);
    app.stdin.write(KEYS.escape);
    await waitFor(() => job.signal.aborted, 'the abort');
    await waitFor(() => frame(app).includes('compare cancelled'), 'cancelled', 3000, screen(app));
    expect(frame(app)).not.toMatch(/Esc cancels$/m);
  });
});

describe('work is not lost to a stray key', () => {
  it('u asks before dropping several edits; a fix plan applied counts as measured; l on a plan evaluation says there is no tensor', async () => {
    const { app, runner } = await start();
    app.stdin.write('p');
    app.stdin.write(KEYS.down);
    app.stdin.write('p');
    await waitFor(() => frame(app).includes('plan: 2 edits, NOT measured, unsaved'), 'two edits', 3000, screen(app));
    app.stdin.write('u');
    await waitFor(() => frame(app).includes('u again undoes all 2 edits; any other key keeps them'), 'the question', 3000, screen(app));
    app.stdin.write('j');
    app.stdin.write('u');
    await waitFor(() => frame(app).includes('u again undoes all 2 edits'), 'asked again after another key', 3000, screen(app));
    app.stdin.write('u');
    await waitFor(() => frame(app).includes('plan: base'), 'undone on the second u', 3000, screen(app));

    app.stdin.write('f');
    await waitFor(() => runner.jobs.length === 1, 'the fix job');
    runner.jobs[0].emit({
      type: 'probe',
      probe: {
        step: 1,
        range: 'round 1',
        tensor: 'baseline: 0 region(s) promoted',
        node: '',
        opType: 'evaluate',
        kind: 'evaluate',
        metric: 'snrDb',
        value: 6.3,
        threshold: 30,
        comparison: '≥',
        pass: false,
      },
    });
    runner.jobs[0].finish({
      kind: 'fix',
      result: {
        metric: 'snrDb',
        goal: 'snrDb>=30',
        reached: true,
        overrides: [['fuse_conv', 'int16']],
        promoted: ['fuse_conv'],
        macShare: 0.1,
        weightShare: 0.2,
        outputs: [],
        summary: 'target met',
      },
    });
    await waitFor(() => frame(app).includes('fix · idle'), 'the fix result', 3000, screen(app));
    app.stdin.write('g');
    app.stdin.write('l');
    await waitFor(() => frame(app).includes('#1 measures a whole plan at the outputs, not one tensor'), 'the message', 3000, screen(app));
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('plan: 1 edit, measured, unsaved'), 'applied and measured', 3000, screen(app));
    app.stdin.write('q');
    await waitFor(
      () => frame(app).includes('the plan (1 edit) is not saved: q quits anyway, w saves, Esc stays'),
      'the question',
      3000,
      screen(app),
    );
  });
});
