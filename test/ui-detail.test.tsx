import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { ComparisonReport } from '../src/analysis/comparison.js';
import { valueDistribution } from '../src/analysis/distribution.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { makeTensor } from '../src/core/tensor.js';
import { App } from '../src/ui/components/App.js';
import { frame, useDemoSession } from './helpers/ui-app.js';
import { demoReport, KEYS, scriptedRunner, waitFor } from './helpers/ui-fakes.js';

const ui = useDemoSession();

const LONG_NODE = `encoder/${'residual_block_with_a_long_name/'.repeat(4)}fuse_norm`;

/** The demo report with the failing row's node named at length and its value distribution measured. */
function reportWithDistribution(): ComparisonReport {
  const report = demoReport();
  const x = Float32Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? 6 : i / 8 - 1));
  const y = x.map((v) => Math.min(2, v));
  const ref = makeTensor('float32', [1, 4, 2, 2], x);
  const test = makeTensor('float32', [1, 4, 2, 2], y);
  const rows = report.rows.map((r) =>
    r.tensor === 'fuse_norm_out' ? { ...r, node: LONG_NODE, distribution: valueDistribution(ref, test, computeMetrics(ref, test)) } : r,
  );
  return { ...report, rows };
}

async function openDetail(width: number, height: number) {
  const runner = scriptedRunner();
  const app = render(<App session={ui.demo()} runner={runner} width={width} height={height} />);
  ui.track(app);
  await waitFor(() => frame(app).includes('41 of 41'), 'the graph');
  app.stdin.write('r');
  await waitFor(() => runner.jobs.length === 1, 'the compare job');
  runner.jobs[0].finish({ kind: 'compare', report: reportWithDistribution(), taps: [] });
  await waitFor(() => frame(app).includes('results · idle'), 'the results');
  app.stdin.write(KEYS.enter);
  await waitFor(() => frame(app).includes('detail · idle'), 'the detail view');
  return app;
}

describe('detail pane', () => {
  it('wraps every line to 80 columns, losing no text, and scrolls with PgUp/PgDn', async () => {
    const app = await openDetail(80, 24);
    const lines = frame(app).split('\n');
    expect(lines).toHaveLength(24);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    // The long node name wraps in the pane (lines 2..21, between header and status) instead of being cut.
    const pane = lines.slice(2, 22);
    expect(pane.join('\n')).not.toContain('…');
    expect(pane.map((l) => l.trim()).join('')).toContain(LONG_NODE);
    expect(frame(app)).toMatch(/cosine\s+0\.666960\s+0\.665512/);
    const total = /lines 1–19 of (\d+) · PgUp PgDn scroll/.exec(frame(app));
    expect(total).not.toBeNull();
    const count = Number(total?.[1]);
    // The histograms and channel ranges lie below the first page.
    expect(frame(app)).not.toContain('channels (axis 1)');
    app.stdin.write(KEYS.pageDown);
    await waitFor(() => frame(app).includes(`lines 19–${Math.min(count, 37)} of ${count}`), 'a page down', 3000, app.lastFrame);
    app.stdin.write(KEYS.end);
    await waitFor(() => frame(app).includes(`of ${count} · PgUp`) && frame(app).includes(`–${count} of`), 'the end', 3000, app.lastFrame);
    const end = frame(app);
    // x: 6 at the start of every channel, else i/8 − 1 (−0.875..0.875); the quant side clips the 6s to 2.
    expect(end).toMatch(/values: 64 bins of 0\.107 over -0\.875\.\.6/);
    expect(end).toMatch(/^float {2}│/m);
    expect(end).toMatch(/^quant {2}│/m);
    // Quant clips at 2: its values pile up in the bin holding 2, float's are at 6.
    expect(end).toMatch(/quant piles up in 1\.92\.\.2\.03: 25% of its values, float 0%/);
    expect(end).toContain('channels (axis 1): 4, worst SNR first');
    // Every channel holds one 6 clipped to 2: SNR 10·log10(Σx²/16), 3.5 dB for channels 1 and 2
    // (Σx² = 36.22), 3.7 dB for 0 and 3 (37.72); worst first, ties by channel.
    expect(end).toMatch(/^ch 0 3\.7 dB +f -0\.875\.\.6 +q -0\.875\.\.2 +█+▀+$/m);
    const order = ['ch 1 3.5', 'ch 2 3.5', 'ch 0 3.7', 'ch 3 3.7'].map((t) => end.indexOf(t));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]))).toBe(true);
    app.stdin.write(KEYS.pageUp);
    await waitFor(() => !frame(app).includes(`–${count} of`), 'a page up', 3000, app.lastFrame);
    // ↓ steps to the next tensor and shows it from its first line.
    app.stdin.write('j');
    await waitFor(() => frame(app).includes('✗ image (3 of 3)'), 'the next row', 3000, app.lastFrame);
    // Its 20 lines and a note that the report has no histograms for it.
    expect(frame(app)).toMatch(/tensor 3 of 3 \(↑↓\) · lines 1–19 of 22/);
    app.stdin.write('k');
    await waitFor(() => frame(app).includes('fuse_norm_out (2 of 3, first failing)'), 'the row before', 3000, app.lastFrame);
    expect(frame(app)).toContain(`tensor 2 of 3 (↑↓) · lines 1–19 of ${count}`);
  });

  it('fits 120x40 with room to spare and zooms the chart with z', async () => {
    const app = await openDetail(120, 40);
    expect(frame(app).split('\n')).toHaveLength(40);
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('results · idle'), 'the results');
    // 10 chart lines at 120x40; the label line names the index range.
    expect(frame(app)).toMatch(/#16 +cos {2}┈ ≥0\.990000 +#40/);
    app.stdin.write('z');
    await waitFor(() => frame(app).includes('cos  4x: 1 of 3'), 'the 4x zoom', 3000, app.lastFrame);
    app.stdin.write('z');
    await waitFor(() => frame(app).includes('cos  16x: 1 of 3'), 'the 16x zoom', 3000, app.lastFrame);
    app.stdin.write('z');
    await waitFor(() => /#16 +cos {2}┈/.test(frame(app)), 'back to 1x', 3000, app.lastFrame);
  });
});
