import { Box, Text } from 'ink';
import { Cell } from './Cell.js';
import type { Finding } from '../../analysis/advisor-finding.js';
import type { ComparisonReport } from '../../analysis/comparison.js';
import type { MetricName } from '../../analysis/metrics-target.js';
import { METRIC_LABELS } from '../format.js';
import { reportSummary, resultRowView, type ResultRowView } from '../result-rows.js';
import { resultsChart } from '../results-chart.js';
import { DepthChart } from './DepthChart.js';
import { statusColor, theme } from '../theme.js';
import { clampView, visibleRange, type Viewport } from '../viewport.js';

export interface ResultsScreenProps {
  readonly width: number;
  /** Table rows the screen holds. */
  readonly height: number;
  readonly report: ComparisonReport;
  readonly metric: MetricName;
  readonly view: Viewport;
  /** Display order: positions index it, it indexes report.rows (empty: depth order). */
  readonly order?: readonly number[];
  /** The sort in words when not by depth, e.g. `own error, worst first`. */
  readonly sortLabel?: string;
  /** Why the results are stale (settings changed since they ran), if they are. */
  readonly stale?: string;
  /** Lines of the chart above the table (Layout.chartRows; at least 3). */
  readonly chartHeight?: number;
  /** The chart's zoom (1, 4 or 16). */
  readonly zoom?: number;
}

interface Columns {
  index: number;
  tensor: number;
  op: number;
  value: number;
  verdict: number;
}

function columns(width: number, count: number): Columns {
  const index = Math.max(3, String(count).length);
  const op = width >= 100 ? 20 : 12;
  const value = 9;
  const verdict = 9;
  const fixed = 3 + index + 1 + 1 + op + 1 + value + 1 + value + 1 + verdict + 1;
  return { index, tensor: Math.max(8, width - fixed - 1), op, value, verdict };
}

/** Findings shown under the table at most; the box takes its lines from the table, which keeps at least MIN_TABLE rows. */
const MAX_FINDINGS = 2;
const MIN_TABLE = 4;

/** The comparison table (accumulated and own error), the metric-along-depth chart, the first failure marked, the advisor's findings below. */
export function ResultsScreen(props: ResultsScreenProps): React.JSX.Element {
  const { report, metric } = props;
  const findings = report.findings ?? [];
  const shown = Math.min(findings.length, MAX_FINDINGS, Math.max(0, props.height - MIN_TABLE - 1));
  const tableHeight = shown > 0 ? props.height - shown - 1 : props.height;
  const c = columns(props.width, report.rows.length);
  // The box shortens the table: keep the cursor visible in the rows that remain.
  const view = tableHeight < props.height ? clampView(props.view, report.rows.length, tableHeight) : props.view;
  const { from, to } = visibleRange(view, report.rows.length, tableHeight);
  const order = props.order && props.order.length === report.rows.length ? props.order : null;
  const rows = (order ? order.slice(from, to).map((i) => report.rows[i]) : report.rows.slice(from, to)).map((r) =>
    resultRowView(r, report, metric),
  );
  // The chart runs along depth: it marks the cursor's row where the graph has it, whatever the table's order.
  const chart = resultsChart(
    report,
    metric,
    { cursor: order ? (order[view.cursor] ?? view.cursor) : view.cursor, zoom: props.zoom ?? 1 },
    { width: props.width, height: props.chartHeight ?? 3 },
  );
  const filler = Math.max(0, tableHeight - rows.length);
  const label = METRIC_LABELS[metric];
  const [summary0, effects] = reportSummary(report);
  const summary = props.stale ? `STALE (${props.stale}; r runs again) · ${summary0}` : summary0;
  // The metric's name in the column titles when it fits; the chart always names it.
  const title = (side: string): string => (side.length + 1 + label.length <= c.value ? `${side} ${label}` : side);
  return (
    <Box flexDirection="column" width={props.width}>
      <Box width={props.width}>
        <Text wrap="truncate-end" color={props.stale ? theme.warn : undefined}>
          {summary}
        </Text>
      </Box>
      <Box width={props.width}>
        <Text color={theme.dim} wrap="truncate-end">
          {props.sortLabel ? `sorted by ${props.sortLabel} · ${effects}` : effects}
        </Text>
      </Box>
      <DepthChart chart={chart} width={props.width} />
      <Box width={props.width}>
        <Text>{'   '}</Text>
        <Cell width={c.index} text="#" color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.tensor} text="tensor" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.op} text="op" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.value} text={title('acc')} color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.value} text={title('own')} color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.verdict} text="verdict" color={theme.dim} />
      </Box>
      {rows.map((row, i) => (
        <ResultRow key={from + i} row={row} columns={c} selected={from + i === view.cursor} />
      ))}
      {filler > 0 ? <Box height={filler} /> : null}
      {shown > 0 ? <FindingsBox findings={findings} shown={shown} width={props.width} /> : null}
    </Box>
  );
}

const SEVERITY_COLOR: Readonly<Record<Finding['severity'], string>> = { error: theme.fail, warning: theme.warn, info: theme.accent };

/** One line per finding (its rule and message, cut to the width), under a title counting them all. */
function FindingsBox(props: { findings: readonly Finding[]; shown: number; width: number }): React.JSX.Element {
  const more = props.findings.length - props.shown;
  return (
    <Box flexDirection="column" width={props.width}>
      <Box width={props.width}>
        <Text
          color={theme.dim}
          wrap="truncate-end"
        >{`findings (${props.findings.length}) · F shows ${more > 0 ? `all, ${more} more` : 'them in full'}`}</Text>
      </Box>
      {props.findings.slice(0, props.shown).map((f, i) => (
        <Box key={i} width={props.width} height={1}>
          <Text wrap="truncate-end">
            <Text color={SEVERITY_COLOR[f.severity]}>{`! ${f.rule}: `}</Text>
            {f.message.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')}
          </Text>
        </Box>
      ))}
    </Box>
  );
}

function ResultRow(props: { row: ResultRowView; columns: Columns; selected: boolean }): React.JSX.Element {
  const { row, columns: c, selected } = props;
  const first = row.firstFailing;
  const nameColor = first ? theme.firstFailFg : undefined;
  return (
    <Box height={1} flexShrink={0} backgroundColor={selected ? theme.cursorBg : undefined}>
      <Text color={theme.accent} bold>
        {selected ? '›' : ' '}
      </Text>
      <Text color={theme.fail} bold>
        {first ? '▶' : ' '}
      </Text>
      <Text color={statusColor(row.status)}>{row.status === 'fail' ? '✗' : '✓'}</Text>
      <Cell width={c.index} text={String(row.index)} color={theme.dim} align="right" />
      <Text> </Text>
      <Cell width={c.tensor} text={row.tensor} color={nameColor} bold={first || selected} />
      <Text> </Text>
      <Cell width={c.op} text={row.opType} />
      <Text> </Text>
      <Cell width={c.value} text={row.accumulated} color={statusColor(row.status)} align="right" />
      <Text> </Text>
      <Cell width={c.value} text={row.own} align="right" />
      <Text> </Text>
      <Cell
        width={c.verdict}
        text={row.verdict}
        color={row.verdict ? theme.verdict[row.verdict as keyof typeof theme.verdict] : undefined}
      />
    </Box>
  );
}
