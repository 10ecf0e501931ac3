import type { ComparisonReport, ComparisonRow } from '../analysis/comparison.js';
import { higherIsBetter, metricValue, type MetricName } from '../analysis/metrics.js';
import { displayName } from '../core/closest.js';
import { criterionText, cutMiddle } from '../present/report-cells.js';
import { fmt, niceTicks, svgText, tickLabel, writeSvgPng, xmlText } from './report-svg.js';

export { writeImageComparison } from './report-image.js';

export interface DepthPlotOptions {
  /** The metric of the upper panel (default the report's metric); the lower panel shows SNR dB (cosine when this is SNR). */
  readonly metric?: MetricName;
  /** Image size in pixels (default 1100 x 760). */
  readonly width?: number;
  readonly height?: number;
}

const PASS = '#2b7bba';
const FAIL = '#d62728';
const OWN = '#7f7f7f';
const LINE = '#b8c2cc';
const GRID = '#e6e6e6';
const AXIS_LABELS: Partial<Record<MetricName, string>> = { snrDb: 'SNR dB', psnrDb: 'PSNR dB', maxAbs: 'max |error|' };

interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Maps metric values to pixels; ±Inf and, on a log axis, values <= 0 are pinned to an edge and flagged. */
interface YScale {
  readonly log: boolean;
  readonly ticks: number[];
  map(v: number): { y: number; pinned: 'top' | 'bottom' | null };
}

/** Errors (lower is better, >= 0) spread over decades: they get a log axis when their positive values span more than 100x. */
function yScale(values: readonly number[], threshold: number | null, metric: MetricName, box: Box): YScale {
  const finite = values.filter(Number.isFinite);
  if (threshold !== null && Number.isFinite(threshold)) finite.push(threshold);
  const positive = finite.filter((v) => v > 0);
  const useLog = !higherIsBetter(metric) && positive.length > 0 && Math.max(...positive) / Math.min(...positive) > 100;
  if (useLog) {
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    const stride = Math.max(1, Math.ceil((hi - lo) / 8));
    const ticks: number[] = [];
    for (let e = lo; e <= hi; e += stride) ticks.push(10 ** e);
    const toY = (l: number) => box.top + box.height - ((l - lo) / (hi - lo)) * box.height;
    return {
      log: true,
      ticks,
      map: (v) => {
        if (v === Infinity) return { y: box.top, pinned: 'top' };
        if (!(v > 0)) return { y: box.top + box.height, pinned: 'bottom' };
        return { y: toY(Math.log10(v)), pinned: null };
      },
    };
  }
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.01 : 0.5;
    lo -= pad;
    hi += pad;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const toY = (v: number) => box.top + box.height - ((v - lo) / (hi - lo)) * box.height;
  return {
    log: false,
    ticks: niceTicks(lo, hi, 6).filter((t) => t >= lo && t <= hi),
    map: (v) => {
      if (v === Infinity || v > hi) return { y: box.top, pinned: v === Infinity ? 'top' : null };
      if (v === -Infinity || v < lo) return { y: box.top + box.height, pinned: v === -Infinity ? 'bottom' : null };
      return { y: toY(v), pinned: null };
    },
  };
}

function marker(x: number, y: number, pinned: 'top' | 'bottom' | null, r: number, fill: string, extra = ''): string {
  if (pinned === 'top')
    return `<path d="M${fmt(x - r - 1)},${fmt(y + r + 1)} L${fmt(x + r + 1)},${fmt(y + r + 1)} L${fmt(x)},${fmt(y - 1)} Z" fill="${fill}"${extra}/>`;
  if (pinned === 'bottom')
    return `<path d="M${fmt(x - r - 1)},${fmt(y - r - 1)} L${fmt(x + r + 1)},${fmt(y - r - 1)} L${fmt(x)},${fmt(y + 1)} Z" fill="${fill}"${extra}/>`;
  return `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="${r}" fill="${fill}"${extra}/>`;
}

interface Panel {
  readonly box: Box;
  readonly metric: MetricName;
  readonly label: string;
  readonly threshold: number | null;
  readonly own: boolean;
}

function drawPanel(
  p: Panel,
  rows: readonly ComparisonRow[],
  xOf: (i: number) => number,
  xTicks: number[],
  firstFailing: string | null,
): string {
  const { box } = p;
  const value = (m: ComparisonRow['metrics']) => (m ? metricValue(m, p.metric) : Number.NaN);
  const values = rows.map((r) => value(r.metrics));
  const ownValues = p.own ? rows.map((r) => (r.own ? metricValue(r.own, p.metric) : Number.NaN)) : [];
  const scale = yScale([...values, ...ownValues], p.threshold, p.metric, box);
  const out: string[] = [];
  const bottom = box.top + box.height;
  out.push(`<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="#fff" stroke="#444"/>`);
  for (const t of scale.ticks) {
    const { y } = scale.map(t);
    out.push(`<line x1="${box.left}" y1="${fmt(y)}" x2="${box.left + box.width}" y2="${fmt(y)}" stroke="${GRID}"/>`);
    out.push(svgText(box.left - 8, y + 4, xmlText(tickLabel(t)), { size: 12, anchor: 'end' }));
  }
  for (const t of xTicks) {
    const x = xOf(t);
    out.push(`<line x1="${fmt(x)}" y1="${bottom}" x2="${fmt(x)}" y2="${bottom + 5}" stroke="#444"/>`);
    out.push(svgText(x, bottom + 19, xmlText(tickLabel(t)), { size: 12, anchor: 'middle' }));
  }
  const cy = box.top + box.height / 2;
  out.push(svgText(box.left - 62, cy, xmlText(`${p.label}${scale.log ? ' (log)' : ''}`), { size: 14, anchor: 'middle', rotate: -90 }));
  const r = rows.length > 300 ? 2 : rows.length > 80 ? 3 : 4;
  const points = rows.map((row, i) => ({ row, x: xOf(row.index), ...scale.map(values[i]), ok: !Number.isNaN(values[i]) }));
  const line = points.filter((pt) => pt.ok).map((pt) => `${fmt(pt.x)},${fmt(pt.y)}`);
  if (line.length > 1) out.push(`<polyline points="${line.join(' ')}" fill="none" stroke="${LINE}" stroke-width="1.2"/>`);
  if (p.own) {
    rows.forEach((row, i) => {
      if (Number.isNaN(ownValues[i])) return;
      const { y } = scale.map(ownValues[i]);
      const x = xOf(row.index);
      out.push(
        `<rect x="${fmt(x - r)}" y="${fmt(y - r)}" width="${2 * r}" height="${2 * r}" fill="none" stroke="${OWN}" stroke-width="1.2"/>`,
      );
    });
  }
  if (p.threshold !== null) {
    const { y } = scale.map(p.threshold);
    out.push(
      `<line x1="${box.left}" y1="${fmt(y)}" x2="${box.left + box.width}" y2="${fmt(y)}" stroke="#333" stroke-width="1.5" stroke-dasharray="7,5"/>`,
    );
    out.push(
      svgText(box.left + box.width - 6, y - 6, xmlText(`threshold ${tickLabel(p.threshold)}`), { size: 12, anchor: 'end', fill: '#333' }),
    );
  }
  for (const pt of points) {
    if (!pt.ok) {
      out.push(svgText(pt.x, bottom - 4, '×', { size: 14, anchor: 'middle', fill: OWN }));
      continue;
    }
    out.push(marker(pt.x, pt.y, pt.pinned, r, pt.row.pass ? PASS : FAIL));
  }
  const first = points.find((pt) => pt.row.tensor === firstFailing && pt.ok);
  if (first) {
    out.push(`<circle cx="${fmt(first.x)}" cy="${fmt(first.y)}" r="${r + 6}" fill="none" stroke="${FAIL}" stroke-width="2"/>`);
    if (p.threshold !== null) {
      // Label on the side with more room, inside the panel, with a white halo over the points.
      const right = first.x > box.left + box.width / 2;
      const ly = first.y > box.top + 40 ? first.y - r - 12 : first.y + r + 22;
      const room = Math.floor(((right ? first.x - box.left : box.left + box.width - first.x) - 20) / 7.5);
      const name = cutMiddle(displayName(first.row.tensor, 4096), Math.max(12, room - 18));
      out.push(
        svgText(first.x + (right ? -12 : 12), ly, xmlText(`first failing: ${name} (#${first.row.index})`, 200), {
          size: 12,
          anchor: right ? 'end' : 'start',
          fill: FAIL,
          weight: 'bold',
          halo: true,
        }),
      );
    }
  }
  return out.join('\n');
}

/** The SVG of the depth plot (see writeDepthPlot). */
export function depthPlotSvg(report: ComparisonReport, options: DepthPlotOptions = {}): string {
  const width = options.width ?? 1100;
  const height = options.height ?? 760;
  const metric = options.metric ?? report.metric;
  const second: MetricName = metric === 'snrDb' ? 'cosine' : 'snrDb';
  const rows = [...report.rows].sort((a, b) => a.index - b.index);
  const left = 100;
  const legendWidth = 210;
  const plotWidth = width - left - legendWidth - 20;
  const top = 78;
  const gap = 58;
  const usable = height - top - gap - 62;
  const upper: Box = { left, top, width: plotWidth, height: Math.round(usable * 0.62) };
  const lower: Box = { left, top: upper.top + upper.height + gap, width: plotWidth, height: usable - upper.height };
  const indices = rows.map((r) => r.index);
  const lo = indices.length ? Math.min(...indices) : 0;
  const hi = indices.length ? Math.max(...indices) : 1;
  const pad = Math.max(0.5, (hi - lo) * 0.02);
  const xOf = (i: number) => left + ((i - (lo - pad)) / (hi - lo + 2 * pad)) * plotWidth;
  const xTicks = niceTicks(lo, hi, Math.min(8, Math.max(2, hi - lo + 1))).filter((t) => Number.isInteger(t) && t >= lo && t <= hi);
  const failing = rows.filter((r) => !r.pass).length;
  const title = `${report.model ?? 'Comparison'}: ${metric} along depth`;
  const subtitle = [
    report.profile ? `profile ${report.profile}` : null,
    `${rows.length} tensors`,
    `${failing} failing ${criterionText(report)}`,
    report.firstFailing !== null ? `first failing ${report.firstFailing}` : 'none failing',
  ]
    .filter((s): s is string => s !== null)
    .join('  ·  ');
  const threshold = metric === report.metric ? report.threshold : null;
  const hasOwn = rows.some((r) => r.own);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    svgText(left, 32, xmlText(title, 90), { size: 20, weight: 'bold' }),
    svgText(left, 56, xmlText(subtitle, 140), { size: 13, fill: '#555' }),
  ];
  if (rows.length === 0) {
    out.push(svgText(width / 2, height / 2, 'no tensors to plot', { size: 18, anchor: 'middle', fill: '#777' }));
  } else {
    out.push(
      drawPanel(
        { box: upper, metric, label: AXIS_LABELS[metric] ?? metric, threshold, own: hasOwn },
        rows,
        xOf,
        xTicks,
        report.firstFailing,
      ),
    );
    out.push(
      drawPanel(
        { box: lower, metric: second, label: AXIS_LABELS[second] ?? second, threshold: null, own: false },
        rows,
        xOf,
        xTicks,
        report.firstFailing,
      ),
    );
  }
  out.push(svgText(left + plotWidth / 2, height - 16, 'topological index', { size: 14, anchor: 'middle' }));
  out.push(legend(left + plotWidth + 28, top + 8, { hasOwn, threshold: threshold !== null, rows }));
  out.push('</svg>');
  return out.join('\n');
}

function legend(x: number, y: number, o: { hasOwn: boolean; threshold: boolean; rows: readonly ComparisonRow[] }): string {
  const items: [string, string][] = [
    [marker(x + 8, 0, null, 4, PASS), 'pass'],
    [marker(x + 8, 0, null, 4, FAIL), 'fail'],
    [`<circle cx="${x + 8}" cy="0" r="9" fill="none" stroke="${FAIL}" stroke-width="2"/>`, 'first failing'],
  ];
  if (o.threshold)
    items.push([`<line x1="${x - 4}" y1="0" x2="${x + 20}" y2="0" stroke="#333" stroke-width="1.5" stroke-dasharray="7,5"/>`, 'threshold']);
  if (o.hasOwn)
    items.push([`<rect x="${x + 4}" y="-4" width="8" height="8" fill="none" stroke="${OWN}" stroke-width="1.2"/>`, 'own error']);
  items.push([marker(x + 8, -4, 'top', 4, PASS), '+Inf (exact), at the top']);
  if (o.rows.some((r) => !r.metrics)) items.push([svgText(x + 8, 5, '×', { size: 14, anchor: 'middle', fill: OWN }), 'not compared']);
  const lineHeight = 26;
  const out = [`<g>`];
  items.forEach(([symbol, label], i) => {
    const cy = y + i * lineHeight;
    out.push(`<g transform="translate(0 ${cy})">${symbol}</g>`);
    out.push(svgText(x + 30, cy + 4, xmlText(label), { size: 13 }));
  });
  out.push('</g>');
  return out.join('\n');
}

/**
 * Writes a PNG of the chosen metric (upper panel, with the threshold dashed, failing points red,
 * the first failing ringed, own error as grey squares when present) and SNR dB (lower panel)
 * against topological index, for every row. ±Inf values sit on the panel edge as triangles.
 * Written atomically.
 */
export async function writeDepthPlot(path: string, report: ComparisonReport, options: DepthPlotOptions = {}): Promise<void> {
  await writeSvgPng(path, depthPlotSvg(report, options));
}
