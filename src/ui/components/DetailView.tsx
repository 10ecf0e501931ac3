import { Box, Text } from 'ink';
import type { ComparisonReport } from '../../analysis/comparison.js';
import { detailPane } from '../detail-pane.js';
import { clampDetailScroll, detailPageHeight } from '../detail-scroll.js';
import type { PaneTone } from '../pane-text.js';
import { theme } from '../theme.js';

export interface DetailViewProps {
  readonly width: number;
  readonly height: number;
  readonly report: ComparisonReport;
  /** The row shown. */
  readonly cursor: number;
  /** First line of the pane shown (clamped here too: the lines change with the width). */
  readonly scroll: number;
}

const TONE: Readonly<Record<PaneTone, { color?: string; bold?: boolean; underline?: boolean }>> = {
  dim: { color: theme.dim },
  head: { color: theme.dim, underline: true },
  pass: { color: theme.pass, bold: true },
  fail: { color: theme.fail },
  warn: { color: theme.warn },
  first: { color: theme.firstFailFg, bold: true },
  bold: { bold: true },
  ref: { color: theme.accent },
  test: { color: theme.tap },
};

/**
 * Everything measured at one tensor, as a pane that wraps to the width and scrolls: accumulated
 * beside own error, the value histograms and the per-channel ranges. The last line says where
 * the pane is and which keys move it.
 */
export function DetailView(props: DetailViewProps): React.JSX.Element {
  const lines = detailPane(props.report, props.cursor, props.width);
  const page = detailPageHeight(props.height);
  const from = clampDetailScroll(props.scroll, lines.length, page);
  const shown = lines.slice(from, from + page);
  const filler = Math.max(0, page - shown.length);
  const to = from + shown.length;
  const more = lines.length > page ? ` · lines ${from + 1}–${to} of ${lines.length} · PgUp PgDn scroll` : '';
  return (
    <Box flexDirection="column" width={props.width}>
      {shown.map((line, i) => (
        <Box key={from + i} width={props.width} height={1}>
          <Text wrap="truncate-end">
            {line.length === 0
              ? ' '
              : line.map((s, j) => (
                  <Text key={j} {...(s.tone ? TONE[s.tone] : {})}>
                    {s.text}
                  </Text>
                ))}
          </Text>
        </Box>
      ))}
      {filler > 0 ? <Box height={filler} /> : null}
      <Box width={props.width} height={1}>
        <Text color={theme.dim} wrap="truncate-end">
          {`tensor ${props.cursor + 1} of ${props.report.rows.length} (↑↓)${more}`}
        </Text>
      </Box>
    </Box>
  );
}
