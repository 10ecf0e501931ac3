import { Box, Text } from 'ink';
import type { Finding } from '../../analysis/advisor-finding.js';
import { safeText } from '../format.js';
import { theme } from '../theme.js';
import type { Viewport } from '../viewport.js';
import { wrapText } from '../wrap.js';

export interface FindingsScreenProps {
  readonly width: number;
  readonly height: number;
  readonly findings: readonly Finding[];
  readonly view: Viewport;
}

const SEVERITY_COLOR: Readonly<Record<Finding['severity'], string>> = { error: theme.fail, warning: theme.warn, info: theme.accent };

interface Line {
  readonly text: string;
  readonly color?: string;
  readonly selected: boolean;
}

/** A finding's lines: rule and severity, the message and the suggestion, wrapped to the width (nothing cut). */
export function findingLines(f: Finding, width: number, selected: boolean): Line[] {
  const text = (s: string): string => safeText(s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '));
  return [
    { text: `${selected ? '›' : ' '} ${f.rule} (${f.severity})`, color: SEVERITY_COLOR[f.severity], selected },
    ...wrapText(text(f.message), width - 4).map((t) => ({ text: `    ${t}`, selected })),
    ...wrapText(`→ ${text(f.suggestion)}`, width - 4).map((t) => ({ text: `    ${t}`, color: theme.dim, selected })),
  ];
}

/** Every finding of the advisor in full, wrapped, the list scrolled a finding at a time. */
export function FindingsScreen(props: FindingsScreenProps): React.JSX.Element {
  const { findings, view } = props;
  const rows = props.height - 1;
  const lines: Line[] = [];
  // Start at the scroll offset; the cursor's finding must be whole on screen, so scroll further if it does not fit.
  let first = Math.min(view.offset, Math.max(0, findings.length - 1));
  const linesFrom = (from: number): Line[] =>
    findings.slice(from).flatMap((f, i) => findingLines(f, props.width, from + i === view.cursor));
  while (first < view.cursor) {
    const upTo = findings.slice(first, view.cursor + 1).flatMap((f) => findingLines(f, props.width, false)).length;
    if (upTo <= rows) break;
    first++;
  }
  lines.push(...linesFrom(first).slice(0, rows));
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text bold color={theme.accent} wrap="truncate-end">
        {`Findings (${findings.length})`}
        <Text color={theme.dim}>{findings.length > 0 ? ` · ${view.cursor + 1} of ${findings.length} · Enter: its tensor` : ''}</Text>
      </Text>
      {findings.length === 0 ? <Text color={theme.dim}>the advisor found nothing to report in this comparison</Text> : null}
      {lines.map((l, i) => (
        <Text key={i} color={l.color} bold={l.text.startsWith('›')} wrap="truncate-end">
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
