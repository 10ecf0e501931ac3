import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { openSession, type Session } from '../src/app/session/session.js';
import { App } from '../src/ui/components/App.js';
import { REPO } from './helpers/cli.js';
import { frame, useDemoSession } from './helpers/ui-app.js';
import { KEYS, scriptedRunner, waitFor } from './helpers/ui-fakes.js';

const WIDE = join(REPO, 'fixtures', 'wide-1000.onnx');
const HOSTILE = join(REPO, 'fixtures', 'hostile-names.onnx');

const ui = useDemoSession();

function mount(session: Session, size = { width: 80, height: 24 }) {
  return ui.track(render(<App session={session} runner={scriptedRunner()} width={size.width} height={size.height} />));
}

/** Lines of the frame that are node rows: they start with the cursor/tap marks and an index. */
const nodeRows = (text: string): string[] => text.split('\n').filter((l) => /^[› ][● ]\s*\d+ /.test(l));

describe('graph screen', () => {
  it('shows header, column titles, node rows and footer in exactly 24 lines at 80x24', async () => {
    const app = mount(ui.demo());
    await waitFor(() => frame(app).includes('content_center'), 'the first frame');
    const lines = frame(app).split('\n');
    expect(lines).toHaveLength(24);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^quantscope demo-generator · 41 nodes · 0 taps/);
    expect(lines[0]).toMatch(/graph · idle$/);
    expect(lines[1]).toMatch(/^plan: base · profile generic-int8 · gate snrDb≥30, out psnrDb≥40 · inputs conte/);
    expect(lines[3]).toMatch(/#\s+op\s+name\s+shape\s+prec\s+SNR dB/);
    expect(lines[4]).toMatch(/^›\s+0 Sub\s+content_center\s+1x3x64x64\s+fp32/);
    expect(lines[23]).toMatch(/\/ filter.*␣ tap.*p prec.*r run.*b bisect.*f fix.*e emit.*\? help\s+q quit/);
    expect(nodeRows(frame(app))).toHaveLength(18);
  });

  it('filters with the spec language: op:, globs, re:, presets, and reports an invalid regex', async () => {
    const app = mount(ui.demo());
    await waitFor(() => frame(app).includes('41 of 41'), 'the first frame');
    app.stdin.write('/');
    await waitFor(() => frame(app).includes('type filter'), 'filter editing');
    app.stdin.write('op:Concat');
    await waitFor(() => frame(app).includes('1 of 41'), 'the live filter');
    app.stdin.write(KEYS.enter);
    await waitFor(() => frame(app).includes('filter op:Concat'), 'the applied filter');
    expect(nodeRows(frame(app)).map((l) => l.trim())).toEqual([expect.stringMatching(/^›\s*16 Concat\s+branch_concat/)]);

    app.stdin.write('/');
    await waitFor(() => frame(app).includes('type filter'), 'filter editing');
    for (let i = 0; i < 9; i++) app.stdin.write(KEYS.backspace);
    app.stdin.write('res1_*');
    await waitFor(() => frame(app).includes('6 of 41'), 'the glob');
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('filter op:Concat'), 'Esc restoring the previous filter');

    app.stdin.write('/');
    await waitFor(() => frame(app).includes('type filter'), 'filter editing');
    for (let i = 0; i < 9; i++) app.stdin.write(KEYS.backspace);
    app.stdin.write('re:(');
    await waitFor(() => frame(app).includes('invalid'), 'the regex error');
    app.stdin.write(KEYS.enter);
    await waitFor(() => /regular expression .* is invalid/.test(frame(app)), 'the error message');
    app.stdin.write(KEYS.escape);
    await waitFor(() => frame(app).includes('filter op:Concat'), 'Esc leaving the invalid draft');

    app.stdin.write('1');
    await waitFor(() => frame(app).includes('filter @hotspots'), 'the hotspot preset');
    const hot = nodeRows(frame(app)).map((l) => l.replace(/^[› ][● ]\s*\d+ /, '').split(/\s+/)[0]);
    expect(new Set(hot)).toEqual(new Set(['InstanceNorm…', 'ReduceMean', 'Concat', 'Resize']));
    expect(frame(app)).toContain('11 of 41');
    app.stdin.write('0');
    await waitFor(() => frame(app).includes('41 of 41'), 'clearing the filter');
  });

  it('taps with space (cursor moves on), taps what the filter shows with a, clears with c', async () => {
    const app = mount(ui.demo());
    await waitFor(() => frame(app).includes('41 of 41'), 'the first frame');
    app.stdin.write(' ');
    await waitFor(() => frame(app).includes('1 tap '), 'one tap');
    const rows = nodeRows(frame(app));
    expect(rows[0]).toMatch(/^ ●\s+0 Sub/);
    expect(rows[1]).toMatch(/^›\s+1 Sub/);
    app.stdin.write(' ');
    await waitFor(() => frame(app).includes('2 taps'), 'two taps');
    app.stdin.write(KEYS.up);
    app.stdin.write(' ');
    await waitFor(() => frame(app).includes('1 tap '), 'untapping');

    app.stdin.write('1');
    await waitFor(() => frame(app).includes('filter @hotspots'), 'the preset');
    app.stdin.write('a');
    await waitFor(() => frame(app).includes('12 taps'), 'tapping all shown');
    expect(nodeRows(frame(app)).every((l) => l[1] === '●')).toBe(true);
    app.stdin.write('a');
    await waitFor(() => frame(app).includes('1 tap '), 'a again untaps them');
    app.stdin.write('c');
    await waitFor(() => frame(app).includes('0 taps'), 'clearing');
  });

  it('cycles a node precision through what the profile allows, marks edits, and undoes them', async () => {
    const app = mount(ui.demo());
    await waitFor(() => frame(app).includes('41 of 41'), 'the first frame');
    app.stdin.write('jj');
    await waitFor(() => /^›\s+2 Conv/m.test(frame(app)), 'the cursor on the first Conv');
    const precisionOf = (index: number): string => {
      const line = nodeRows(frame(app)).find((l) => new RegExp(`^[› ][● ]\\s*${index} `).test(l)) ?? '';
      return line.slice(2).trim().split(/\s+/)[4];
    };
    expect(precisionOf(2)).toBe('int8');
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      app.stdin.write('p');
      await waitFor(() => precisionOf(2) !== (seen[i - 1] ?? 'int8'), `precision step ${i + 1}`);
      seen.push(precisionOf(2));
    }
    expect(seen).toEqual(['a16w8*', 'int16*', 'fp16*', 'fp32*', 'int8']);
    expect(frame(app)).not.toMatch(/\d edit/);
    app.stdin.write('j');
    app.stdin.write('p');
    await waitFor(() => precisionOf(3) === 'fp16*', 'a Relu takes fp16');
    app.stdin.write('p');
    await waitFor(() => precisionOf(3) === 'fp32', 'and back to fp32 (its default)');
    app.stdin.write('k');
    app.stdin.write('p');
    await waitFor(() => precisionOf(2) === 'a16w8*', 'a16w8 again');
    expect(frame(app)).toContain('1 edit');
    app.stdin.write('u');
    await waitFor(() => precisionOf(2) === 'int8' && !/\d edit/.test(frame(app)), 'undo');
  });

  it('scrolls a 1,000-node graph rendering only the visible rows', async () => {
    const wide = await openSession({ model: { modelPath: WIDE }, quant: {} });
    const app = mount(wide);
    await waitFor(() => frame(app).includes('1000 of 1000'), 'the first frame');
    expect(nodeRows(frame(app))).toHaveLength(18);
    expect(frame(app)).toContain('· 1-18');
    app.stdin.write(KEYS.pageDown);
    await waitFor(() => frame(app).includes('· 19-36'), 'page down');
    expect(nodeRows(frame(app))[0]).toMatch(/^›\s+18 /);
    app.stdin.write('G');
    await waitFor(() => frame(app).includes('· 983-1000'), 'the end');
    const rows = nodeRows(frame(app));
    expect(rows).toHaveLength(18);
    expect(rows[17]).toMatch(/^›\s+999 Mul\s+b249_scale/);
    app.stdin.write('g');
    await waitFor(() => frame(app).includes('· 1-18'), 'the top');
    // A bigger terminal shows more rows.
    app.unmount();
    const tall = mount(wide, { width: 120, height: 40 });
    await waitFor(() => frame(tall).includes('1000 of 1000'), 'the tall frame');
    expect(nodeRows(frame(tall))).toHaveLength(34);
  });

  it('shows hostile tensor and node names escaped, never as terminal escapes', async () => {
    const hostile = await openSession({ model: { modelPath: HOSTILE }, quant: {} });
    const app = mount(hostile);
    await waitFor(() => frame(app).includes('nodes'), 'the first frame');
    const text = frame(app);
    // ink's own colours are the only escapes: none of the model's control characters get through.
    const stripped = text.replace(/\x1b\[[0-9;]*m/g, '');
    expect(stripped).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(stripped).toMatch(/\\x1b/);
  });
});
