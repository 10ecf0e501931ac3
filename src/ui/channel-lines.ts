import type { ChannelRange, ValueDistribution } from '../analysis/distribution.js';
import { formatMetric, formatNumber } from './format.js';
import type { PaneLine, Span } from './pane-text.js';

/** Fewest bar cells worth drawing beside a channel's numbers; narrower, the bar gets a line of its own. */
const MIN_BAR = 12;

/** Channels worst first: lowest SNR first, NaN (nothing compared) before everything, then by channel. */
export function worstChannelsFirst(ranges: readonly ChannelRange[]): ChannelRange[] {
  const key = (r: ChannelRange): number => (Number.isNaN(r.snrDb) ? -Infinity : r.snrDb);
  return [...ranges].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (Number.isNaN(a.snrDb) !== Number.isNaN(b.snrDb)) return Number.isNaN(a.snrDb) ? -1 : 1;
    return ka === kb ? a.channel - b.channel : ka < kb ? -1 : 1;
  });
}

/**
 * One cell per `cells` equal slices of [lo, hi]: `▀` where only the float range covers the
 * slice, `▄` only the quant range, `█` both, `·` neither. A range covers a slice when they
 * overlap (ends included); a NaN range covers nothing.
 */
export function rangeBar(r: ChannelRange, lo: number, hi: number, cells: number): string {
  const width = (hi - lo) / cells;
  let out = '';
  for (let c = 0; c < cells; c++) {
    const a = lo + c * width;
    const b = c === cells - 1 ? hi : lo + (c + 1) * width;
    const f = r.refMin <= b && r.refMax >= a;
    const q = r.testMin <= b && r.testMax >= a;
    out += f && q ? '█' : f ? '▀' : q ? '▄' : '·';
  }
  return out;
}

const rangeText = (min: number, max: number): string => `${formatNumber(min)}..${formatNumber(max)}`;

/**
 * Per-channel ranges, worst SNR first: channel, its SNR, the float and quant ranges, and a bar
 * of both ranges over the histogram's span. Says how many channels there are when only the
 * first ones were kept.
 */
export function channelLines(d: ValueDistribution, width: number): PaneLine[] {
  const ch = d.channels;
  if (!ch || ch.ranges.length === 0) return [];
  const kept = ch.ranges.length;
  const title =
    kept < ch.count
      ? `channels (axis ${ch.axis}): the first ${kept} of ${ch.count}, worst SNR first`
      : `channels (axis ${ch.axis}): ${ch.count}, worst SNR first`;
  const rows = worstChannelsFirst(ch.ranges).map((r) => ({
    r,
    name: `ch ${r.channel}`,
    snr: `${formatMetric('snrDb', r.snrDb)} dB`,
    float: `f ${rangeText(r.refMin, r.refMax)}`,
    quant: `q ${rangeText(r.testMin, r.testMax)}`,
  }));
  const w = {
    name: Math.max(...rows.map((x) => x.name.length)),
    snr: Math.max(...rows.map((x) => x.snr.length)),
    float: Math.max(...rows.map((x) => x.float.length)),
    quant: Math.max(...rows.map((x) => x.quant.length)),
  };
  const text = w.name + 1 + w.snr + 2 + w.float + 2 + w.quant + 1;
  const inline = width - text >= MIN_BAR;
  const bar = inline ? width - text : Math.max(1, width - 2);
  const lines: PaneLine[] = [
    [{ text: title, tone: 'head' }],
    [
      { text: `bars over ${rangeText(d.lo, d.hi)}: `, tone: 'dim' },
      { text: '▀ float', tone: 'ref' },
      { text: '  ' },
      { text: '▄ quant', tone: 'test' },
      { text: '  █ both', tone: 'dim' },
    ],
  ];
  for (const x of rows) {
    const spans: Span[] = [
      { text: `${x.name.padEnd(w.name)} ` },
      { text: `${x.snr.padStart(w.snr)}  `, tone: 'bold' },
      { text: `${x.float.padEnd(w.float)}  `, tone: 'ref' },
      { text: `${x.quant.padEnd(w.quant)} `, tone: 'test' },
    ];
    const drawn: Span = { text: rangeBar(x.r, d.lo, d.hi, bar) };
    if (inline) lines.push([...spans, drawn]);
    else lines.push(spans, [{ text: '  ' }, drawn]);
  }
  return lines;
}
