import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App } from '../src/ui/components/App.js';
import { frame, useDemoSession } from './helpers/ui-app.js';
import { demoReport, KEYS, scriptedRunner, waitFor } from './helpers/ui-fakes.js';

const ui = useDemoSession();

async function showResults() {
  const runner = scriptedRunner();
  const app = render(<App session={ui.demo()} runner={runner} width={80} height={24} />);
  ui.track(app);
  await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
  app.stdin.write('1');
  await waitFor(() => frame(app).includes('filter @hotspots'), 'the preset');
  app.stdin.write('a');
  await waitFor(() => frame(app).includes('11 taps'), 'the taps');
  app.stdin.write('r');
  await waitFor(() => runner.jobs.length === 1, 'the compare job');
  return { app, runner };
}

describe('results screen', () => {
  it('sends the tapped tensors in topological order and shows progress while the run goes on', async () => {
    const { app, runner } = await showResults();
    const job = runner.jobs[0];
    expect(job.request.kind).toBe('compare');
    expect(job.request.taps).toEqual([
      'enc_c_norm2_out',
      'enc_s_norm2_out',
      'style_mean_out',
      'branch_concat_out',
      'fuse_norm_out',
      'res1_norm1_out',
      'res1_norm2_out',
      'res2_norm1_out',
      'res2_norm2_out',
      'upsample_out',
      'up_norm_out',
    ]);
    job.emit({ type: 'progress', stage: 'compare', done: 1, total: 4, detail: '3 tensor(s)' });
    await waitFor(() => frame(app).includes('compare 1/4 3 tensor(s)'), 'the progress line');
    expect(frame(app)).toMatch(/graph · compare…/);
    expect(frame(app)).toContain('Esc cancel');
    job.finish({ kind: 'compare', report: demoReport(), taps: job.request.taps ?? [] });
    await waitFor(() => frame(app).includes('results · idle'), 'the results');
  });

  it('shows the table with own and accumulated error, the chart along depth, and the first failing row highlighted', async () => {
    const { app, runner } = await showResults();
    runner.jobs[0].finish({ kind: 'compare', report: demoReport(), taps: [] });
    await waitFor(() => frame(app).includes('results · idle'), 'the results');
    const lines = frame(app).split('\n');
    expect(lines).toHaveLength(24);
    expect(lines[2]).toBe('2 of 3 fail cosine ≥ 0.99 · first fuse_norm_out #18 · worst source fuse_norm_out');
    expect(lines[3]).toBe('taps moved image 0.882140 → 0.881670 · INT16 plan reaches 0.999949');
    // The chart (6 lines at 80x24): y axis from the smallest to the largest value, the threshold
    // line, the cursor's column ▲ and the failing image ✗ on the axis, the index range below.
    expect(lines[4]).toMatch(/^0\.999862 ┤[⠀-⣿┈┊]+$/);
    expect(lines[7]).toMatch(/^0\.666960 ┤[⠀-⣿┊ ]+$/);
    expect(lines[8]).toMatch(/^ {9}└─+▲─+✗─+$/);
    expect(lines[9]).toMatch(/^ {10}#16 +cos {2}┈ ≥0\.990000 +#40$/);
    expect(lines[10]).toMatch(/#\s+tensor\s+op\s+acc cos\s+own cos\s+verdict/);
    expect(lines[11]).toMatch(/^ {2}✓ 16 branch_concat_out\s+Concat\s+0\.999862\s+1\.000000 follows/);
    // The cursor starts on the first failing row, which is marked ▶ as well.
    expect(lines[12]).toMatch(/^›▶✗ 18 fuse_norm_out\s+InstanceNor…\s+0\.666960\s+0\.665512 source/);
    expect(lines[13]).toMatch(/^ {2}✗ 40 image\s+Add\s+0\.881670/);
    app.stdin.write('k');
    await waitFor(() => /^› ✓ 16/m.test(frame(app)), 'the cursor moving up');
    expect(frame(app)).toMatch(/^ ▶✗ 18 fuse_norm_out/m);
    app.stdin.write('n');
    await waitFor(() => /^›▶✗ 18/m.test(frame(app)), 'n jumping to the first failing row');
  });

  it('switches the shown metric with m', async () => {
    const { app, runner } = await showResults();
    runner.jobs[0].finish({ kind: 'compare', report: demoReport(), taps: [] });
    await waitFor(() => frame(app).includes('acc cos'), 'the results');
    app.stdin.write('m');
    await waitFor(() => /^20\.0 ┤.*\n(.*\n){2} 1\.8 ┤.*\n.*\n.*SNR dB/m.test(frame(app)), 'the SNR chart', 3000, app.lastFrame);
    expect(frame(app)).toMatch(/#\s+tensor\s+op\s+acc\s+own\s+verdict/);
    expect(frame(app)).toMatch(/16 branch_concat_out\s+Concat\s+20\.0\s+exact/);
  });

  it('opens the detail view with worst channel, percentiles, NaN/Inf and clipping, and steps through rows', async () => {
    const { app, runner } = await showResults();
    runner.jobs[0].finish({ kind: 'compare', report: demoReport(), taps: [] });
    await waitFor(() => frame(app).includes('results · idle'), 'the results');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('detail · idle'), 'the detail view');
    const text = frame(app);
    expect(text).toContain('✗ fuse_norm_out (2 of 3, first failing)');
    expect(text).toContain('node fuse_norm · InstanceNormalization #18 · 1x4x2x2 float32 · source');
    expect(text).toMatch(/cosine\s+0\.666960\s+0\.665512/);
    expect(text).toMatch(/worst channel\s+0\.482272 ch 3/);
    expect(text).toMatch(/\|d\| p50 p90 p99\s+0\.507 1\.33 2\.19/);
    expect(text).toMatch(/\|d\| p99\.9\s+2\.77/);
    expect(text).toMatch(/NaN ref\/test\s+0\/2/);
    expect(text).toMatch(/NaN\/Inf new\s+2/);
    expect(text).toMatch(/clipped\s+1\.25%/);
    expect(text).toMatch(/max \|d\| at\s+3\.91 \[0,3,23,9\]/);
    app.stdin.write('j');
    await waitFor(() => frame(app).includes('✗ image (3 of 3)'), 'the next row');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('results · idle'), 'back to the table');
    // The graph shows the last metric of each tapped node, failing ones marked.
    app.stdin.write(KEYS.tab);
    await waitFor(() => frame(app).includes('graph · idle'), 'the graph');
    expect(frame(app)).toMatch(/16 Concat\s+branch_concat\s+1x24x32x32\s+fp32\s+0\.999862/);
    expect(frame(app)).toMatch(/18 InstanceNorm…\s+fuse_norm\s+1x16x32x32\s+fp32\s+✗0\.666960/);
  });
});
