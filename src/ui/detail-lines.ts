import type { ComparisonRow } from '../analysis/comparison.js';
import type { Metrics } from '../analysis/metrics.js';
import { formatMetric, formatNumber, formatPercent } from './format.js';

/** One line of the detail view: a label and the accumulated and own values as text. */
export interface DetailLine {
  readonly label: string;
  readonly accumulated: string;
  readonly own: string;
  /** The accumulated value is a problem (NaN/Inf introduced, clipping, overflow). */
  readonly alarm?: boolean;
}

type Pick = (m: Metrics) => string;

const range = (r: { min: number; max: number }): string => `${formatNumber(r.min)}..${formatNumber(r.max)}`;

const LINES: readonly { label: string; pick: Pick; alarm?: (m: Metrics) => boolean }[] = [
  { label: 'cosine', pick: (m) => formatMetric('cosine', m.cosine) },
  { label: 'SNR dB', pick: (m) => formatMetric('snrDb', m.snrDb) },
  { label: 'PSNR dB', pick: (m) => formatMetric('psnrDb', m.psnrDb) },
  { label: 'MSE / MAE', pick: (m) => `${formatNumber(m.mse)} / ${formatNumber(m.mae)}` },
  { label: 'max |d| at', pick: (m) => `${formatNumber(m.maxAbs)} [${m.maxAbsIndex.join(',')}]` },
  { label: 'relL2', pick: (m) => formatMetric('relL2', m.relL2) },
  {
    label: 'worst channel',
    pick: (m) => (m.worstChannelCosine === null ? '—' : `${formatMetric('cosine', m.worstChannelCosine)} ch ${m.worstChannel}`),
  },
  {
    label: '|d| p50 p90 p99',
    pick: (m) => [m.errorPercentiles.p50, m.errorPercentiles.p90, m.errorPercentiles.p99].map(formatNumber).join(' '),
  },
  { label: '|d| p99.9', pick: (m) => (m.errorPercentiles.p999 === undefined ? '—' : formatNumber(m.errorPercentiles.p999)) },
  {
    label: 'NaN ref/test',
    pick: (m) => `${m.nanRef}/${m.nanTest}`,
    alarm: (m) => m.nanTest > m.nanRef,
  },
  {
    label: 'Inf ref/test',
    pick: (m) => `${m.infRef}/${m.infTest}`,
    alarm: (m) => m.infTest > m.infRef,
  },
  { label: 'NaN/Inf new', pick: (m) => String(m.nonFiniteIntroduced), alarm: (m) => m.nonFiniteIntroduced > 0 },
  { label: 'clipped', pick: (m) => formatPercent(m.clipRatio), alarm: (m) => (m.clipRatio ?? 0) > 0.001 },
  {
    label: 'fp16 overflow',
    pick: (m) => (m.fp16Overflow === null ? '—' : String(m.fp16Overflow)),
    alarm: (m) => (m.fp16Overflow ?? 0) > 0,
  },
  { label: 'range ref', pick: (m) => range(m.refRange) },
  { label: 'range test', pick: (m) => range(m.testRange) },
  { label: 'compared', pick: (m) => `${m.compared} of ${m.count}` },
];

/** The detail lines of a compared tensor; own values are '—' when the own error was not measured. */
export function detailLines(row: ComparisonRow): DetailLine[] {
  return LINES.map((l) => ({
    label: l.label,
    accumulated: row.metrics ? l.pick(row.metrics) : '—',
    own: row.own ? l.pick(row.own) : '—',
    alarm: row.metrics && l.alarm ? l.alarm(row.metrics) : false,
  }));
}
