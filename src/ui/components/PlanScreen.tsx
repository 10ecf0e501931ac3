import { Box, Text } from 'ink';
import type { PlanLine } from '../plan-lines.js';
import { theme } from '../theme.js';

export interface PlanScreenProps {
  readonly width: number;
  readonly height: number;
  /** Wrapped to the width (plan-lines.ts wrappedPlanLines). */
  readonly lines: readonly PlanLine[];
  /** First line shown. */
  readonly offset: number;
}

const TONES: Readonly<Record<PlanLine['tone'], { color?: string; bold?: boolean }>> = {
  head: { color: theme.accent, bold: true },
  plain: {},
  dim: { color: theme.dim },
  warn: { color: theme.warn },
};

/** The whole plan, wrapped (names are never cut) and scrolled a line at a time. */
export function PlanScreen(props: PlanScreenProps): React.JSX.Element {
  const wrapped = props.lines;
  const rows = props.height - 1;
  const from = Math.max(0, Math.min(props.offset, wrapped.length - rows));
  const shown = wrapped.slice(from, from + rows);
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text bold color={theme.accent} wrap="truncate-end">
        Plan
        <Text color={theme.dim}>
          {wrapped.length > rows ? ` · lines ${from + 1}–${from + shown.length} of ${wrapped.length} · ↑↓ PgUp PgDn scroll` : ''}
        </Text>
      </Text>
      {shown.map((l, i) => (
        <Text key={from + i} {...TONES[l.tone]} wrap="truncate-end">
          {l.text || ' '}
        </Text>
      ))}
    </Box>
  );
}
