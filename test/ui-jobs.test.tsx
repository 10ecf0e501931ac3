import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { BisectView, FixView, ProbeView } from '../src/app/session/session-jobs.js';
import { UserError } from '../src/core/errors.js';
import { App } from '../src/ui/components/App.js';
import { frame, useDemoSession } from './helpers/ui-app.js';
import { KEYS, scriptedRunner, waitFor } from './helpers/ui-fakes.js';

const ui = useDemoSession();

async function start(onQuit?: () => void) {
  const runner = scriptedRunner();
  const app = render(<App session={ui.demo()} runner={runner} width={80} height={24} onQuit={onQuit} />);
  ui.track(app);
  await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
  return { app, runner };
}

const probe = (step: number, range: string, tensor: string, opType: string, value: number, pass: boolean, note?: string): ProbeView => ({
  step,
  range,
  tensor,
  node: tensor.replace(/_out$/, ''),
  opType,
  kind: note === undefined ? 'search' : 'certificate',
  metric: 'cosine',
  value,
  threshold: 0.99,
  comparison: '≥',
  pass,
  note,
});

const BISECT: BisectView = {
  metric: 'cosine',
  threshold: 0.99,
  culprit: { node: 'fuse_norm', opType: 'InstanceNormalization', tensor: 'fuse_norm_out' },
  output: { tensor: 'fuse_norm_out', value: 0.647038, pass: false },
  inputs: [{ tensor: 'fuse_conv_out', value: 0.997053, pass: true }],
  probes: 7,
  counts: { listed: 7, probeRuns: 6, quantRuns: 7, evaluationRuns: 0, candidates: 39, runBudget: 8 },
  comparison: '≥',
  region: {
    fused: [
      { node: 'fuse_conv', opType: 'Conv' },
      { node: 'fuse_norm', opType: 'InstanceNormalization' },
      { node: 'fuse_relu', opType: 'Relu' },
    ],
    reason: 'culprit',
    promotes: [{ node: 'fuse_conv', opType: 'Conv', from: 'int8', to: 'int16' }],
    text: 'culprit fuse_norm (InstanceNormalization) is fused with fuse_conv (Conv), fuse_relu (Relu); the plan promotes the fused region: fuse_conv (Conv) int8→int16',
  },
  perturbation: { output: 'image', metric: 'cosine', withTaps: 0.879187, withoutTaps: 0.88214 },
  summary: 'fuse_norm certified: its inputs pass and it fails; 8 quant runs for 39 candidates (budget 8)',
  suggested: [['fuse_conv', 'int16']],
};

const FIX: FixView = {
  metric: 'cosine',
  goal: 'cosine>=0.999',
  reached: true,
  overrides: [['fuse_conv', 'int16']],
  promoted: ['fuse_conv'],
  macShare: 0.1277,
  weightShare: 0.1953,
  outputs: [{ tensor: 'image', value: 0.999717, pass: true }],
  summary: 'target met after 9 quant runs; 0 region(s) pruned; plan file dumps/demo-generator.fix-plan.json',
};

describe('bisect and fix screens', () => {
  it('b shows every probe live, then the culprit; Enter applies the suggested plan', async () => {
    const { app, runner } = await start();
    app.stdin.write('b');
    await waitFor(() => runner.jobs.length === 1, 'the bisect job');
    const job = runner.jobs[0];
    expect(job.request).toMatchObject({ kind: 'bisect', edits: [] });
    expect(job.request.settings?.profile).toBe('generic-int8');
    await waitFor(() => frame(app).includes('Bisect: the first failing tensor · 0 probes so far'), 'the bisect screen');
    job.emit({ type: 'probe', probe: probe(1, '2..40', 'res1_norm1_out', 'InstanceNormalization', 0.563086, false) });
    await waitFor(() => frame(app).includes('1 probe so far'), 'the first probe');
    expect(frame(app)).toMatch(/ 1 2\.\.40\s+res1_norm1_out\s+InstanceNor…\s+0\.563086 FAIL ≥0\.99/);
    job.emit({ type: 'progress', stage: 'bisect search', done: 1, total: 6, detail: 'res1_norm1_out FAIL' });
    job.emit({ type: 'probe', probe: probe(2, '2..21', 'enc_s_relu2_out', 'Relu', 0.999867, true) });
    await waitFor(() => frame(app).includes('2 probes so far'), 'the second probe');
    expect(frame(app)).toMatch(/ 2 2\.\.21\s+enc_s_relu2_out\s+Relu\s+0\.999867 pass ≥0\.99/);
    expect(frame(app)).toMatch(/^█{3}░+ bisect search 1\/6 res1_norm1_out FAIL +\d+ ms Esc cancels$/m);
    job.emit({ type: 'probe', probe: probe(3, 'certify', 'fuse_conv_out', 'Conv', 0.997053, true, 'input') });
    job.emit({ type: 'probe', probe: probe(3, 'certify', 'fuse_norm_out', 'InstanceNormalization', 0.647038, false, 'culprit') });
    await waitFor(() => frame(app).includes('fuse_norm_out (culprit)'), 'the certificate probes');
    expect(frame(app)).toContain('probing…');
    job.finish({ kind: 'bisect', result: BISECT });
    await waitFor(() => frame(app).includes('bisect · idle'), 'the result');
    const text = frame(app);
    expect(text).toContain('culprit fuse_norm (InstanceNormalization) → fuse_norm_out');
    expect(text).toContain('at the culprit fuse_norm_out 0.647038 ✗');
    expect(text).toContain('inputs fuse_conv_out 0.997053 ✓');
    expect(text).toContain('threshold cosine ≥ 0.99 · tap effect on image: 0.882140 → 0.879187');
    // The culprit's fused region, so the plan's node is no surprise.
    expect(text.replace(/\s*\n\s*/g, ' ')).toContain(
      'culprit fuse_norm (InstanceNormalization) is fused with fuse_conv (Conv), fuse_relu (Relu)',
    );
    expect(text).toContain('Enter applies the plan: fuse_conv=int16');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('applied: fuse_conv=int16'), 'the plan applied');
    expect(frame(app)).toMatch(/plan: 1 edit, NOT measured, unsaved/);
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('graph · idle'), 'the graph');
    app.stdin.write('G');
    await waitFor(() => frame(app).includes('· 24-41'), 'the end of the list');
    app.stdin.write('g');
    await waitFor(() => frame(app).includes('· 1-18'), 'the top');
    expect(frame(app)).toMatch(/17 Conv\s+fuse_conv\s+1x16x32x32\s+int16\*/);
    // The next job carries the edit.
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 2, 'the compare job');
    expect(runner.jobs[1].request.edits).toEqual([['fuse_conv', 'int16']]);
  });

  it('f shows evaluations and probes live, then the plan with its cost', async () => {
    const { app, runner } = await start();
    app.stdin.write('f');
    await waitFor(() => runner.jobs.length === 1, 'the fix job');
    const job = runner.jobs[0];
    job.emit({ type: 'probe', probe: { ...probe(1, 'round 1', 'baseline: 0 region(s) promoted', 'evaluate', 0.88214, false) } });
    job.emit({ type: 'probe', probe: { ...probe(2, 'round 1', 'res1_norm1_out', 'probe', 0, false), value: null } });
    await waitFor(() => frame(app).includes('2 probes so far'), 'the live rows');
    expect(frame(app)).toMatch(/ 1 round 1\s+baseline: 0 region\(s\) promo\S*\s+evaluate\s+0\.882140 FAIL ≥0\.99/);
    expect(frame(app)).toMatch(/ 2 round 1\s+res1_norm1_out\s+probe\s+— FAIL ≥0\.99/);
    for (let i = 3; i <= 14; i++) job.emit({ type: 'probe', probe: probe(i, 'round 2', `t${i}_out`, 'probe', 0.5, false) });
    await waitFor(() => frame(app).includes('14 probes so far'), 'more rows than fit');
    job.finish({ kind: 'fix', result: FIX });
    await waitFor(() => frame(app).includes('fix · idle'), 'the result');
    // The list stays at its end, where the search finished; the first rows scroll out.
    expect(frame(app)).toMatch(/ 14 round 2\s+t14_out/);
    expect(frame(app)).not.toContain('baseline: 0 region(s) promo');
    app.stdin.write('g');
    await waitFor(() => frame(app).includes('baseline: 0 region(s) promo'), 'scrolling to the top');
    const text = frame(app);
    expect(text).toContain('target cosine ≥ 0.999: reached');
    expect(text).toContain('promoted fuse_conv');
    expect(text).toContain('cost: 12.77% of MACs and 19.53% of weight bytes above INT8');
    expect(text).toContain('outputs image 0.999717 ✓');
    app.stdin.write('y');
    await waitFor(() => frame(app).includes('applied: fuse_conv=int16'), 'y applying the plan');
  });

  it('Esc cancels a running job; the screen says so and keys work again', async () => {
    const { app, runner } = await start();
    app.stdin.write('b');
    await waitFor(() => runner.jobs.length === 1, 'the bisect job');
    app.stdin.write('r');
    await new Promise((r) => setTimeout(r, 50));
    expect(runner.jobs).toHaveLength(1);
    expect(frame(app)).toMatch(/Esc cancels$/m);
    app.stdin.write(KEYS.escape);
    await waitFor(() => runner.jobs[0].signal.aborted, 'the abort signal');
    await waitFor(() => frame(app).includes('bisect cancelled'), 'the cancelled message');
    expect(frame(app)).toContain('bisect · idle');
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 2, 'a new job after the cancel');
  });

  it('a failed job shows its one-sentence error', async () => {
    const { app, runner } = await start();
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 1, 'the job');
    runner.jobs[0].fail(new UserError("Calibration input 'x.png' does not exist."));
    await waitFor(() => frame(app).includes("compare failed: Calibration input 'x.png' does not exist."), 'the error');
  });

  it('e writes the model and shows where it went', async () => {
    const { app, runner } = await start();
    app.stdin.write('e');
    await waitFor(() => runner.jobs.length === 1, 'the emit job');
    await waitFor(() => frame(app).includes('writing the model with 0 session edit(s)'), 'the running emit screen');
    runner.jobs[0].finish({
      kind: 'emit',
      result: {
        files: [
          { role: 'model', path: '/tmp/out/demo-generator.mixed.onnx' },
          { role: 'quant', path: '/tmp/out/demo-generator.mixed.quant.json' },
          { role: 'manifest', path: '/tmp/out/demo-generator.mixed.manifest.json' },
        ],
        verified: true,
        checks: ['41 node(s) read back at their planned precision'],
        summary: 'wrote mixed model /tmp/out/demo-generator.mixed.onnx and verified it',
      },
    });
    await waitFor(() => frame(app).includes('✓ written and verified'), 'the result');
    expect(frame(app)).toMatch(/model\s+\/tmp\/out\/demo-generator\.mixed\.onnx/);
    expect(frame(app)).toMatch(/manifest\s+\/tmp\/out\/demo-generator\.mixed\.manifest\.json/);
  });
});

describe('help, header, footer and quitting', () => {
  it('? shows every key and any key returns', async () => {
    const { app } = await start();
    app.stdin.write('?');
    await waitFor(() => frame(app).includes('help · idle'), 'the help screen');
    const text = frame(app);
    for (const s of ['Graph', 'Results', '@hotspots', 'cycle the node']) expect(text).toContain(s);
    expect(text.split('\n')).toHaveLength(24);
    // The list scrolls: its end holds the keys every screen shares.
    app.stdin.write('G');
    await waitFor(() => frame(app).includes('cancel the running job'), 'the end of the help');
    expect(frame(app)).toContain('Everywhere');
    app.stdin.write('x');
    await waitFor(() => frame(app).includes('graph · idle'), 'back to the graph');
  });

  it('the footer follows the screen and the job; Tab visits the screens that have content', async () => {
    const { app, runner } = await start();
    expect(frame(app).split('\n')[23]).toContain('/ filter');
    app.stdin.write('b');
    await waitFor(() => runner.jobs.length === 1, 'the job');
    await waitFor(() => frame(app).split('\n')[23].startsWith('Esc cancel'), 'the running footer');
    expect(frame(app).split('\n')[23]).not.toContain('r run');
    runner.jobs[0].finish({ kind: 'bisect', result: BISECT });
    await waitFor(() => frame(app).split('\n')[23].startsWith('↵ apply plan'), 'the bisect footer');
    app.stdin.write(KEYS.tab);
    await waitFor(() => frame(app).includes('graph · idle'), 'Tab to the graph');
    app.stdin.write(KEYS.tab);
    await waitFor(() => frame(app).includes('bisect · idle'), 'Tab to bisect (no results yet)');
  });

  it('q quits; while a job runs it cancels the job first', async () => {
    let quits = 0;
    const { app, runner } = await start(() => {
      quits += 1;
    });
    app.stdin.write('r');
    await waitFor(() => runner.jobs.length === 1, 'the job');
    app.stdin.write('q');
    await waitFor(() => runner.jobs[0].signal.aborted, 'the cancel');
    await waitFor(() => quits === 1, 'the quit after the job stopped');
  });
});
