import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/analysis/advisor.js';
import { ResultsScreen } from '../src/ui/components/ResultsScreen.js';
import { TOP } from '../src/ui/viewport.js';
import { demoReport } from './helpers/ui-fakes.js';

/** The results screen's findings box: under the table, one line per finding, taking its lines from the table. */

const finding = (rule: Finding['rule'], message: string): Finding => ({
  rule,
  severity: 'warning',
  tensors: ['fuse_conv_out'],
  message,
  suggestion: 'Do something.',
});

function screen(findings: readonly Finding[] | undefined, height = 8, cursor = 0): string[] {
  const report = { ...demoReport(), ...(findings ? { findings } : {}) };
  const app = render(<ResultsScreen width={80} height={height} report={report} metric="cosine" view={{ ...TOP, cursor }} />);
  const lines = (app.lastFrame() ?? '').split('\n');
  app.unmount();
  return lines;
}

describe('results screen findings box', () => {
  it('shows none and keeps the table as it was when the report has no findings', () => {
    const lines = screen(undefined);
    expect(lines).toHaveLength(6 + 8);
    expect(lines.join('\n')).not.toContain('findings');
  });

  it('shows the first two findings cut to the width, and counts the rest, in the same height', () => {
    const long = `'fuse_conv_out' (Conv 'fuse_conv') passes on cosine 0.996757, but its channel 3 reaches only 0.470273: ${'x'.repeat(100)}`;
    const lines = screen([
      finding('outlier-channel', long),
      finding('source-amplifier', "'fuse_norm_out' amplifies"),
      finding('tap-perturbation', 'third'),
    ]);
    expect(lines).toHaveLength(6 + 8);
    expect(lines[lines.length - 3]).toBe('findings (3) · F shows all, 1 more');
    expect(lines[lines.length - 2]).toMatch(/^! outlier-channel: 'fuse_conv_out' \(Conv 'fuse_conv'\) passes on cosine 0\.996757.*…$/);
    expect(lines[lines.length - 2].length).toBeLessThanOrEqual(80);
    expect(lines[lines.length - 1]).toBe("! source-amplifier: 'fuse_norm_out' amplifies");
  });

  it('keeps the cursor row visible in the shorter table', () => {
    const lines = screen([finding('outlier-channel', 'one')], 5, 2);
    expect(lines).toHaveLength(6 + 5);
    expect(lines.some((l) => l.startsWith('›') && l.includes('image'))).toBe(true);
  });

  it('leaves the table alone when it is too short for a box', () => {
    expect(screen([finding('outlier-channel', 'one')], 4).join('\n')).not.toContain('findings');
  });
});
