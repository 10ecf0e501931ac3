import { describe, expect, it } from 'vitest';
import { formatAgainst, formatMetric } from '../src/ui/format.js';
import { findMatch, matchesQuery } from '../src/ui/keys-list.js';
import { timeLeftMs } from '../src/ui/progress.js';
import { positionOf, resultOrder, rowAt } from '../src/ui/result-order.js';
import { resultRowView } from '../src/ui/result-rows.js';
import { wrapText } from '../src/ui/wrap.js';
import { demoReport, metrics, row } from './helpers/ui-fakes.js';

describe('wrapText', () => {
  it('breaks at spaces, keeps every word, and never exceeds the width', () => {
    const text = 'the quick brown fox jumps over the lazy dog';
    const lines = wrapText(text, 10);
    expect(lines).toEqual(['the quick', 'brown fox', 'jumps over', 'the lazy', 'dog']);
    expect(lines.join(' ')).toBe(text);
  });

  it('cuts a word longer than a line into whole lines and loses no character', () => {
    const word = 'a'.repeat(25);
    const lines = wrapText(`${word} bb`, 10);
    expect(lines).toEqual(['aaaaaaaaaa', 'aaaaaaaaaa', 'aaaaa bb']);
    expect(lines.every((l) => [...l].length <= 10)).toBe(true);
  });

  it('indents continuation lines and keeps an empty text as one empty line', () => {
    expect(wrapText('ab cdefgh ijklmnop', 10, '  ')).toEqual(['ab cdefgh', '  ijklmnop']);
    expect(wrapText('', 10)).toEqual(['']);
  });

  it('keeps the PSNR figure of a long finding on screen at 80 columns', () => {
    const message =
      'cosine similarity (0.999712) says the output matches, but its PSNR is 31.4 dB and its SNR 24.9 dB: cosine ignores a scale and an offset error.';
    const lines = wrapText(message, 76);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join(' ')).toContain('its PSNR is 31.4 dB');
  });
});

describe('search', () => {
  it('matches every word, case-insensitive, with globs', () => {
    expect(matchesQuery('conv', ['Convolution15', 'Conv'])).toBe(true);
    expect(matchesQuery('norm 18', ['fuse_norm_out', 'InstanceNormalization', '#18'])).toBe(true);
    expect(matchesQuery('norm 19', ['fuse_norm_out', 'InstanceNormalization', '#18'])).toBe(false);
    expect(matchesQuery('res*_conv', ['res1_a_conv'])).toBe(true);
    expect(matchesQuery('', ['x'])).toBe(false);
  });

  it('finds the next match from the cursor, wrapping, in both directions', () => {
    const names = ['a', 'conv1', 'b', 'conv2', 'c'];
    const texts = (i: number): readonly string[] => [names[i]];
    expect(findMatch(5, texts, 'conv', 0, 1, true)).toBe(1);
    expect(findMatch(5, texts, 'conv', 1, 1, false)).toBe(3);
    expect(findMatch(5, texts, 'conv', 3, 1, false)).toBe(1);
    expect(findMatch(5, texts, 'conv', 1, -1, false)).toBe(3);
    expect(findMatch(5, texts, 'conv', 1, 1, true)).toBe(1);
    expect(findMatch(5, texts, 'zzz', 0, 1, true)).toBe(-1);
  });
});

describe('result order', () => {
  const report = demoReport();

  it('keeps depth order by default and puts the worst first by accumulated error', () => {
    expect(resultOrder(report, { column: 'depth', descending: false }, 'cosine')).toEqual([0, 1, 2]);
    // cosines 0.999862, 0.66696, 0.88167: worst (lowest) first
    expect(resultOrder(report, { column: 'accumulated', descending: false }, 'cosine')).toEqual([1, 2, 0]);
    expect(resultOrder(report, { column: 'accumulated', descending: true }, 'cosine')).toEqual([0, 2, 1]);
  });

  it('puts the largest error first for lower-is-better metrics, NaN worst and missing values last', () => {
    const r = {
      ...report,
      rows: [
        row('a', 0, 'Conv', 1, { metrics: metrics({ mse: 0.1 }) }),
        row('b', 1, 'Conv', 1, { metrics: null }),
        row('c', 2, 'Conv', 1, { metrics: metrics({ mse: Number.NaN }) }),
        row('d', 3, 'Conv', 1, { metrics: metrics({ mse: 2 }) }),
      ],
    };
    expect(resultOrder(r, { column: 'accumulated', descending: false }, 'mse')).toEqual([2, 3, 0, 1]);
  });

  it('sorts by name and op type, ties in depth order', () => {
    expect(resultOrder(report, { column: 'name', descending: false }, 'cosine')).toEqual([0, 1, 2]);
    expect(resultOrder(report, { column: 'op', descending: false }, 'cosine')).toEqual([2, 0, 1]);
  });

  it('maps display positions to rows and back', () => {
    const order = [2, 0, 1];
    expect(rowAt(order, 0)).toBe(2);
    expect(positionOf(order, 1)).toBe(2);
    expect(rowAt([], 1)).toBe(1);
  });
});

describe('time left', () => {
  it('extrapolates the pace since the first count seen, and says nothing before a step is done since then or without a total', () => {
    // 2 steps (1 → 3) in 4 s: 2 s a step, 7 steps to go.
    expect(timeLeftMs(3, 10, { at: 1000, done: 1 }, 5000)).toBe(14_000);
    expect(timeLeftMs(1, 10, { at: 1000, done: 1 }, 5000)).toBeNull();
    expect(timeLeftMs(3, 10, null, 5000)).toBeNull();
    expect(timeLeftMs(3, 0, { at: 1000, done: 1 }, 5000)).toBeNull();
    expect(timeLeftMs(10, 10, { at: 1000, done: 1 }, 5000)).toBeNull();
  });
});

describe('values near the threshold', () => {
  it('adds digits until the text falls on the same side of the threshold as the value', () => {
    // The review's case: 0.9994996 fails cosine ≥ 0.9995, but six decimals show 0.999500.
    expect(formatMetric('cosine', 0.9994996)).toBe('0.999500');
    expect(formatAgainst('cosine', 0.9994996, 0.9995)).toBe('0.9994996');
    expect(formatAgainst('snrDb', 39.96, 40)).toBe('39.96');
    expect(formatAgainst('snrDb', 39.96, 30)).toBe('40.0');
    expect(formatAgainst('mse', 0.0100004, 0.01)).toBe('0.0100004');
    expect(formatAgainst('cosine', 0.999712, 0.99)).toBe('0.999712');
    expect(formatAgainst('snrDb', Infinity, 30)).toBe('exact');
  });
});

describe('result rows name the node', () => {
  it('shows the producing node beside a tensor whose name does not already start with it', () => {
    const report = demoReport();
    expect(resultRowView(row('fuse_conv_out', 17, 'Conv', 0.99), report, 'cosine').tensor).toBe('fuse_conv_out');
    expect(resultRowView(row('t42', 17, 'Conv', 0.99, { node: 'convolution15' }), report, 'cosine').tensor).toBe('t42 ← convolution15');
    expect(resultRowView(row('image', 0, '', 1, { node: '' }), report, 'cosine').tensor).toBe('image');
  });
});
