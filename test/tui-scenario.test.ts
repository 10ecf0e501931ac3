import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, SHARED, tempDir } from './helpers/cli.js';
import { HAS_TMUX, Tmux } from './helpers/tmux.js';

/**
 * The workbench stories in a real terminal at 80x24: the real binary in tmux, keys as a user
 * types them, the screen read back. One story on the demo (everything from the first frame to
 * quitting), one on udnie (the finding that says cosine is the wrong metric, in full).
 */
const UDNIE = join(SHARED, 'models', 'udnie.onnx');
const HAS_UDNIE = existsSync(UDNIE) && existsSync(join(SHARED, 'images', 'fish_720.png')) && existsSync(join(SHARED, 'images', 'cat.jpg'));
if (!HAS_TMUX) console.log('skipping the TUI scenario tests: tmux is not installed');
else if (!HAS_UDNIE) console.log(`skipping the udnie TUI scenario: ${UDNIE} or its images are absent`);

function launch(tmux: Tmux, args: readonly string[], cache: string): void {
  const quoted = args.map((a) => `'${a}'`).join(' ');
  // ink draws only the final frame when a CI variable is set; the command runs as a user would.
  tmux.start(
    `cd '${REPO}' && env -u CI -u CONTINUOUS_INTEGRATION QUANTSCOPE_CACHE='${cache}' '${process.execPath}' '${CLI}' ${quoted}; echo "EXIT=$?"; sleep 30`,
    80,
    24,
  );
}

/** Every line of an 80x24 screen fits: 24 lines, none wider than 80 columns. */
function fits(screen: string): void {
  const lines = screen.replace(/\n$/, '').split('\n');
  expect(lines.length).toBeLessThanOrEqual(24);
  for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80);
}

describe.skipIf(!HAS_TMUX)('the demo story in tmux at 80x24', { tags: ['slow'] }, () => {
  it('runs, sorts, searches, shows detail and findings, bisects, fixes, saves the plan, emits and quits with a question', async () => {
    const cache = tempDir('qs-scenario-cache-');
    const out = tempDir('qs-scenario-out-');
    const planFile = join(out, 'story.plan.json');
    const tmux = new Tmux('story');
    launch(tmux, ['tui', '--emit-dir', out], cache);
    try {
      // The demo opens on its story: every node compared at once.
      const results = await tmux.waitFor(/results · idle/, 'the comparison the demo runs by itself', 120_000);
      fits(results);
      expect(results).toMatch(/\d+ of 41 fail snrDb ≥ 30/);

      tmux.keys('S');
      await tmux.waitFor(/sorted by accumulated error, worst first/, 'the sort');
      tmux.keys('Enter');
      await tmux.waitFor(/detail · idle/, 'the detail');
      tmux.keys('Escape');
      await tmux.waitFor(/results · idle/, 'back to the results');

      tmux.keys('/');
      await tmux.waitFor(/search: /, 'the search prompt');
      tmux.type('concat');
      tmux.keys('Enter');
      await tmux.waitFor(/'concat': row \d+ of \d+, \d+ match/, 'the search result');

      // A key that means nothing here says so instead of doing something else.
      tmux.keys('Z');
      await tmux.waitFor(/Z does nothing on the results screen/, 'the unknown-key message');

      tmux.keys('F');
      const findings = await tmux.waitFor(/Findings \(\d+\)/, 'the findings pane');
      fits(findings);
      tmux.keys('Escape');

      tmux.keys('b');
      const bisect = await tmux.waitFor(/bisect · idle/, 'the bisect', 180_000);
      fits(bisect);
      expect(bisect).toMatch(/culprit \S+ \(\w+\)/);

      tmux.keys('f');
      const fix = await tmux.waitFor(/fix · idle/, 'the fix', 300_000);
      fits(fix);
      expect(fix).toMatch(/Enter applies the plan: /);
      tmux.keys('Enter');
      await tmux.waitFor(/plan: \d+ edits?, measured, unsaved/, 'the plan applied: the fix measured it');

      // The bisect ran on the plan before the fix: it no longer offers its own plan.
      tmux.keys('BTab');
      await tmux.waitFor(/found on an earlier plan; b runs it again/, 'the outdated bisect plan');

      tmux.keys('q');
      await tmux.waitFor(/not saved: q quits anyway, w saves, Esc stays/, 'the quit question');
      tmux.keys('w');
      await tmux.waitFor(/save the plan to: /, 'the save prompt');
      tmux.keys('C-u');
      tmux.type(planFile);
      tmux.keys('Enter');
      await tmux.waitFor(/plan saved to /, 'the plan saved');
      const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { profile: string; overrides: Record<string, string> };
      expect(plan.profile).toBe('generic-int8');
      expect(Object.keys(plan.overrides).length).toBeGreaterThan(0);

      tmux.keys('e');
      const emitted = await tmux.waitFor(/emit · idle/, 'the emit', 180_000);
      expect(emitted).toMatch(/verified/);
      await tmux.waitFor(/plan: \d+ edits?, measured/, 'the plan measured by emit');

      tmux.keys('q');
      await tmux.waitFor(/EXIT=0/, 'a clean exit (the plan was saved: no question)', 10_000);
    } finally {
      tmux.stop();
    }
  }, 900_000);
});

describe.skipIf(!HAS_TMUX || !HAS_UDNIE)('udnie in tmux at 80x24', { tags: ['slow'] }, () => {
  it('shows the blind-spot finding whole, its PSNR figure on screen', async () => {
    const cache = tempDir('qs-scenario-udnie-');
    const tmux = new Tmux('udnie-story');
    const args = [
      'tui',
      '../shared/models/udnie.onnx',
      '--input',
      'inputImage=../shared/images/fish_720.png',
      '--calib',
      '../shared/images/cat.jpg',
      '--preprocess',
      'size=720x720',
      '--metric',
      'cosine',
      '--threshold',
      '0.99',
    ];
    launch(tmux, args, cache);
    try {
      await tmux.waitFor(/udnie · 59 nodes/, 'the graph');
      tmux.keys('3');
      await tmux.waitFor(/filter @outputs/, 'the outputs preset');
      tmux.keys('a');
      tmux.keys('r');
      await tmux.waitFor(/results · idle/, 'the comparison', 240_000);
      tmux.keys('F');
      const screen = await tmux.waitFor(/Findings \(\d+\)[\s\S]*metric-blind-spot/, 'the findings pane');
      fits(screen);
      // Wrapped, never cut: the sentence reads whole once the line breaks are joined.
      const text = screen.replace(/\s*\n\s*/g, ' ');
      expect(text).toMatch(/its PSNR is \d+(\.\d+)? dB/);
      expect(text).toMatch(/Trust PSNR/);
      tmux.keys('q');
      await tmux.waitFor(/EXIT=0/, 'a clean exit', 10_000);
    } finally {
      tmux.stop();
    }
  }, 360_000);
});
