import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { editPrecision, exactSpec, nextPrecision, openSession, type Session } from '../src/app/session/session.js';
import { selectTensors } from '../src/core/selector.js';
import { formatMetric, formatNumber, formatPercent, formatShape, safeText, truncate, truncateLeft } from '../src/ui/format.js';
import { filterNodes } from '../src/ui/graph-filter.js';
import { fitHints, footerHints } from '../src/ui/keymap.js';
import { splitInput } from '../src/ui/keys.js';
import { layoutFor } from '../src/ui/layout.js';
import { progressBar } from '../src/ui/progress.js';
import { clampView, moveCursor, pageBy, scrollTo, visibleRange } from '../src/ui/viewport.js';
import { REPO } from './helpers/cli.js';

describe('number formats', () => {
  it.each([
    ['cosine', 0.9998712, '0.999871'],
    ['cosine', 1, '1.000000'],
    ['cosine', Number.NaN, 'NaN'],
    ['snrDb', Infinity, 'exact'],
    ['snrDb', -Infinity, '-inf'],
    ['psnrDb', 38.849, '38.8'],
    ['mse', 0.000123456, '1.23e-4'],
    ['mse', 0.0123456, '0.0123'],
    ['maxAbs', 123456, '1.23e+5'],
    ['maxAbs', 0, '0'],
    ['relL2', Infinity, 'inf'],
    ['cosine', null, '—'],
  ] as const)('%s %s -> %s', (metric, value, text) => {
    expect(formatMetric(metric, value)).toBe(text);
  });

  it('formats shapes, percentages, plain numbers and safe text', () => {
    expect(formatShape([1, 32, 720, 720])).toBe('1x32x720x720');
    expect(formatShape(['N', 3, null])).toBe('Nx3x?');
    expect(formatShape(null)).toBe('?');
    expect(formatShape([])).toBe('scalar');
    expect(formatPercent(0.1277)).toBe('12.77%');
    expect(formatPercent(0.00001)).toBe('<0.01%');
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(null)).toBe('—');
    expect(formatNumber(-2.5)).toBe('-2.5');
    expect(safeText('a\x1b[2Jb\\c')).toBe('a\\x1b[2Jb\\c');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(truncateLeft('/very/long/path/model.onnx', 12)).toBe('…/model.onnx');
    expect(progressBar(1, 4, 8)).toBe('██░░░░░░');
    expect(progressBar(5, 0, 4)).toBe('░░░░');
  });
});

describe('viewport', () => {
  it('keeps the cursor visible, scrolling as little as possible', () => {
    expect(moveCursor({ cursor: 0, offset: 0 }, 1, 100, 10)).toEqual({ cursor: 1, offset: 0 });
    expect(moveCursor({ cursor: 9, offset: 0 }, 1, 100, 10)).toEqual({ cursor: 10, offset: 1 });
    expect(moveCursor({ cursor: 10, offset: 10 }, -1, 100, 10)).toEqual({ cursor: 9, offset: 9 });
    expect(moveCursor({ cursor: 0, offset: 0 }, -1, 100, 10)).toEqual({ cursor: 0, offset: 0 });
    expect(scrollTo({ cursor: 0, offset: 0 }, 1000, 100, 10)).toEqual({ cursor: 99, offset: 90 });
    expect(pageBy({ cursor: 3, offset: 0 }, 1, 100, 10)).toEqual({ cursor: 13, offset: 10 });
    expect(pageBy({ cursor: 95, offset: 90 }, 1, 100, 10)).toEqual({ cursor: 99, offset: 90 });
    expect(pageBy({ cursor: 13, offset: 10 }, -1, 100, 10)).toEqual({ cursor: 3, offset: 0 });
    expect(clampView({ cursor: 50, offset: 45 }, 20, 10)).toEqual({ cursor: 19, offset: 10 });
    expect(moveCursor({ cursor: 5, offset: 0 }, 1, 0, 10)).toEqual({ cursor: 0, offset: 0 });
    expect(visibleRange({ cursor: 99, offset: 90 }, 100, 10)).toEqual({ from: 90, to: 100 });
    expect(visibleRange({ cursor: 0, offset: 0 }, 3, 10)).toEqual({ from: 0, to: 3 });
  });

  it('shares the rows of an 80x24 terminal', () => {
    expect(layoutFor(80, 24)).toMatchObject({ body: 20, graphRows: 18, resultRows: 11, chartRows: 6, probeRows: 12 });
    // Taller terminals give the chart more lines, up to 12; the table keeps the rest.
    expect(layoutFor(120, 40)).toMatchObject({ body: 36, chartRows: 10, resultRows: 23 });
    expect(layoutFor(80, 60)).toMatchObject({ body: 56, chartRows: 12, resultRows: 41 });
    expect(layoutFor(60, 16)).toMatchObject({ body: 12, chartRows: 3, resultRows: 6 });
    expect(layoutFor(10, 5)).toMatchObject({ width: 60, height: 16 });
  });
});

describe('keys and hints', () => {
  it('splits a chunk of typed keys into keypresses', () => {
    const none = {
      upArrow: false,
      downArrow: false,
      leftArrow: false,
      rightArrow: false,
      pageDown: false,
      pageUp: false,
      home: false,
      end: false,
      return: false,
      escape: false,
      ctrl: false,
      shift: false,
      tab: false,
      backspace: false,
      delete: false,
      meta: false,
      super: false,
      hyper: false,
      capsLock: false,
      numLock: false,
    };
    expect(splitInput('1ar', none).map(([c]) => c)).toEqual(['1', 'a', 'r']);
    const withEnter = splitInput('a\r', none);
    expect(withEnter[1][1].return).toBe(true);
    expect(splitInput('G', none)).toEqual([['G', none]]);
    // Ctrl-U in a burst with text (tmux send-keys C-u text) still clears the prompt first.
    const burst = splitInput('\x15ab', none);
    expect(burst[0][0]).toBe('u');
    expect(burst[0][1].ctrl).toBe(true);
    expect(burst.slice(1).map(([c]) => c)).toEqual(['a', 'b']);
    expect(splitInput('ab', { ...none, ctrl: true })).toHaveLength(1);
  });

  it('fits the footer into the width, always keeping help and quit', () => {
    const hints = footerHints('graph', { editing: false, running: false });
    const fitted = fitHints(hints, 40);
    expect(fitted.slice(-2).map((h) => h.key)).toEqual(['?', 'q']);
    const width = fitted.reduce((s, h) => s + [...h.key].length + 1 + h.label.length, 0) + (fitted.length - 1) * 2;
    expect(width).toBeLessThanOrEqual(40);
    expect(fitHints(hints, 79)).toHaveLength(hints.length);
    expect(footerHints('graph', { editing: false, running: true }).map((h) => h.key)).not.toContain('r');
    expect(footerHints('graph', { editing: true, running: false })[0].label).toBe('filter');
  });
});

describe('graph filter and session edits', () => {
  let session: Session;
  beforeAll(async () => {
    session = await openSession({ model: { modelPath: join(REPO, 'models', 'demo-generator.onnx') }, quant: {} });
  });

  it.each([
    ['', 41],
    ['op:Conv', 12],
    ['op:conv', 12],
    ['op:Concat|ReduceMean', 2],
    ['res1_*', 6],
    ['re:^res[12]_norm', 4],
    ['@hotspots', 11],
    ['@outputs', 1],
    ['fuse_conv', 1],
    ['fuse_conv_out', 1],
    ['norm', 8],
    ['NORM', 8],
    ['fuse_conv,op:Concat', 2],
    ['nothing-like-this', 0],
    ['op:Inst', 8],
    ['op:inst|conc', 9],
    ['op:Nope', 0],
  ])('filter %j shows %i nodes', (text, count) => {
    const r = filterNodes(session.ctx.graph, text);
    expect(r.ok && r.indices.length).toBe(count);
  });

  it('reports invalid filters', () => {
    expect(filterNodes(session.ctx.graph, 're:(')).toMatchObject({ ok: false, error: expect.stringMatching(/regular expression/) });
    expect(filterNodes(session.ctx.graph, '@nope')).toMatchObject({ ok: false, error: expect.stringMatching(/Unknown preset/) });
  });

  it('cycles precisions the profile allows and keeps only edits that differ', () => {
    const graph = session.ctx.graph;
    const conv = graph.nodes.find((n) => n.name === 'fuse_conv');
    const relu = graph.nodes.find((n) => n.opType === 'Relu');
    if (!conv || !relu) throw new Error('demo model changed');
    expect(nextPrecision(session.profile, conv, 'int8')).toBe('a16w8');
    expect(nextPrecision(session.profile, conv, 'a16w8')).toBe('int16');
    expect(nextPrecision(session.profile, conv, 'fp32')).toBe('int8');
    expect(nextPrecision(session.profile, relu, 'fp32')).toBe('fp16');
    expect(nextPrecision(session.profile, relu, 'fp16')).toBe('fp32');
    const once = editPrecision([], conv, 'int16', 'int8');
    expect(once).toEqual([['fuse_conv', 'int16']]);
    expect(editPrecision(once, conv, 'fp16', 'int8')).toEqual([['fuse_conv', 'fp16']]);
    expect(editPrecision(once, conv, 'int8', 'int8')).toEqual([]);
  });

  it('names hostile tensors exactly in the selection language', async () => {
    const hostile = await openSession({ model: { modelPath: join(REPO, 'fixtures', 'hostile-names.onnx') }, quant: {} });
    const graph = hostile.ctx.graph;
    const names = graph.nodes.flatMap((n) => n.outputs).filter((o) => o !== '');
    for (const name of names) expect(selectTensors(graph, [exactSpec(name)])).toContain(name);
    expect(exactSpec('plain_name')).toBe('plain_name');
    expect(exactSpec('a,b')).toBe('re:^a,b$');
    expect(exactSpec('op:x')).toBe('re:^op:x$');
    expect(exactSpec('w*')).toBe('re:^w\\*$');
  });
});
