import { Box, Text } from 'ink';
import type { ChartTone, DepthChart as Chart } from '../depth-chart.js';
import { theme } from '../theme.js';

const TONE_COLOR: Readonly<Record<ChartTone, string>> = {
  pass: theme.pass,
  fail: theme.fail,
  threshold: theme.warn,
  axis: theme.dim,
  label: theme.dim,
  cursor: theme.accent,
};

interface Run {
  readonly text: string;
  readonly tone: ChartTone | null;
  readonly cursor: boolean;
}

/** Consecutive code points of one tone (and cursor column or not) as one run. */
function runs(text: string, tones: readonly (ChartTone | null)[], cursorColumn: number | null): Run[] {
  const out: { text: string; tone: ChartTone | null; cursor: boolean }[] = [];
  [...text].forEach((ch, i) => {
    const tone = tones[i] ?? null;
    const cursor = i === cursorColumn;
    const last = out[out.length - 1];
    if (last && last.tone === tone && last.cursor === cursor) last.text += ch;
    else out.push({ text: ch, tone, cursor });
  });
  return out;
}

/** The metric-along-depth chart (ui/depth-chart.ts), the cursor's column on the cursor colour. */
export function DepthChart(props: { readonly chart: Chart; readonly width: number }): React.JSX.Element {
  return (
    <Box flexDirection="column" width={props.width} flexShrink={0}>
      {props.chart.lines.map((line, i) => (
        <Box key={i} width={props.width} height={1}>
          <Text wrap="truncate-end">
            {runs(line.text, line.tones, props.chart.cursorColumn).map((r, j) => (
              <Text key={j} color={r.tone ? TONE_COLOR[r.tone] : undefined} backgroundColor={r.cursor ? theme.cursorBg : undefined}>
                {r.text}
              </Text>
            ))}
          </Text>
        </Box>
      ))}
    </Box>
  );
}
