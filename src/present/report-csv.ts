import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { METRIC_NAMES } from '../analysis/metrics.js';
import type { Metrics } from '../analysis/metrics.js';
import { formatDims } from '../core/tensor.js';

/**
 * The report as CSV (RFC 4180): one header line, one record per row, CRLF line ends, a field
 * quoted when it holds a comma, a double quote, CR or LF, with quotes doubled. Names are written
 * as they are (the CSV is data, not terminal output). Numbers keep full precision; non-finite ones
 * are written Infinity, -Infinity, NaN; a missing value is an empty field.
 */

type Cell = string | number | boolean | null | undefined;

const EXTRA: readonly { header: string; value: (m: Metrics) => Cell }[] = [
  { header: 'worstChannel', value: (m) => m.worstChannel },
  { header: 'nanRef', value: (m) => m.nanRef },
  { header: 'nanTest', value: (m) => m.nanTest },
  { header: 'infRef', value: (m) => m.infRef },
  { header: 'infTest', value: (m) => m.infTest },
  { header: 'nonFiniteIntroduced', value: (m) => m.nonFiniteIntroduced },
  { header: 'clipRatio', value: (m) => m.clipRatio },
  { header: 'fp16Overflow', value: (m) => m.fp16Overflow },
  { header: 'errP50', value: (m) => m.errorPercentiles.p50 },
  { header: 'errP90', value: (m) => m.errorPercentiles.p90 },
  { header: 'errP99', value: (m) => m.errorPercentiles.p99 },
  { header: 'errP999', value: (m) => m.errorPercentiles.p999 },
  { header: 'refMin', value: (m) => m.refRange.min },
  { header: 'refMax', value: (m) => m.refRange.max },
  { header: 'testMin', value: (m) => m.testRange.min },
  { header: 'testMax', value: (m) => m.testRange.max },
  { header: 'count', value: (m) => m.count },
];

const HEAD: readonly { header: string; value: (r: ComparisonRow) => Cell }[] = [
  { header: 'index', value: (r) => r.index },
  { header: 'tensor', value: (r) => r.tensor },
  { header: 'node', value: (r) => r.node },
  { header: 'opType', value: (r) => r.opType },
  { header: 'shape', value: (r) => formatDims(r.shape) },
  { header: 'dtype', value: (r) => r.dtype },
  { header: 'pass', value: (r) => r.pass },
  { header: 'verdict', value: (r) => r.verdict },
  { header: 'error', value: (r) => r.error },
];

export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? numberText(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return String(v);
}

export function formatCsv(report: ComparisonReport): string {
  const headers = [...HEAD.map((h) => h.header), ...METRIC_NAMES, ...EXTRA.map((e) => e.header), 'ownCosine', 'ownSnrDb'];
  const lines = [headers.map(csvField).join(',')];
  for (const row of report.rows) {
    const m = row.metrics;
    const cells: Cell[] = [
      ...HEAD.map((h) => h.value(row)),
      ...METRIC_NAMES.map((name) => (m ? m[name] : null)),
      ...EXTRA.map((e) => (m ? e.value(m) : null)),
      row.own ? row.own.cosine : null,
      row.own ? row.own.snrDb : null,
    ];
    lines.push(cells.map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
