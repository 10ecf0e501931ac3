import { Box, Text } from 'ink';
import { Cell } from './Cell.js';
import type { ProbeView } from '../../app/session/session-jobs.js';
import { safeText } from '../format.js';
import { probeCells, probeSentence, type LineTone, type ToneLine } from '../probe-lines.js';
import { wrapText } from '../wrap.js';
import { theme } from '../theme.js';
import { clampView, visibleRange, type Viewport } from '../viewport.js';

export interface ProbeScreenProps {
  readonly width: number;
  /** Rows of the probe list. */
  readonly listHeight: number;
  /** Rows of the result box below the list. */
  readonly boxHeight: number;
  readonly title: string;
  readonly probes: readonly ProbeView[];
  readonly view: Viewport;
  readonly running: boolean;
  /** Result lines, empty while running. */
  readonly lines: readonly ToneLine[];
  readonly error: string | null;
}

const TONES: Readonly<Record<LineTone, string | undefined>> = {
  plain: undefined,
  good: theme.pass,
  bad: theme.fail,
  dim: theme.dim,
  accent: theme.accent,
};

/** The probes of a bisect or fix as they arrive (the list follows the newest), then the result. */
export function ProbeScreen(props: ProbeScreenProps): React.JSX.Element {
  const count = props.probes.length;
  // While running, follow the newest probe; afterwards the user scrolls.
  // The result box may take rows from the list: keep the cursor's row visible in those that remain.
  const view = props.running
    ? { cursor: Math.max(0, count - 1), offset: Math.max(0, count - props.listHeight) }
    : clampView(props.view, count, props.listHeight);
  // The probe under the cursor, whole, under the list (it takes its lines from the list).
  const selected = count > 0 ? wrapText(probeSentence(props.probes[Math.min(view.cursor, count - 1)]), props.width - 1, '  ') : [];
  const listHeight = Math.max(1, props.listHeight - selected.length);
  const shownView = clampView(view, count, listHeight);
  const { from, to } = visibleRange(shownView, count, listHeight);
  const c = { step: 3, range: 11, op: 12, value: 9, verdict: 11 };
  const tensor = Math.max(8, props.width - (c.step + c.range + c.op + c.value + c.verdict + 6));
  const lines = props.error ? [{ text: safeText(props.error), tone: 'bad' as const }] : props.lines;
  const boxLines = lines.slice(0, props.boxHeight);
  return (
    <Box flexDirection="column" width={props.width}>
      <Box width={props.width}>
        <Text bold color={theme.accent}>
          {props.title}
        </Text>
        <Text color={theme.dim}>
          {' '}
          · {count} probe{count === 1 ? '' : 's'}
          {props.running ? ' so far' : ''}
        </Text>
      </Box>
      <Box width={props.width}>
        <Cell width={c.step} text="#" color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.range} text="range" color={theme.dim} />
        <Text> </Text>
        <Cell width={tensor} text="probe" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.op} text="op" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.value} text="metric" color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.verdict} text="verdict" color={theme.dim} />
      </Box>
      {props.probes.slice(from, to).map((p, i) => {
        const cells = probeCells(p);
        return (
          <Box key={from + i} width={props.width} height={1} flexShrink={0}>
            <Cell width={c.step} text={cells.step} color={theme.dim} align="right" />
            <Text> </Text>
            <Cell width={c.range} text={cells.range} color={theme.dim} />
            <Text> </Text>
            <Cell width={tensor} text={cells.tensor} />
            <Text> </Text>
            <Cell width={c.op} text={cells.op} />
            <Text> </Text>
            <Cell width={c.value} text={cells.value} color={TONES[cells.tone]} align="right" />
            <Text> </Text>
            <Cell width={c.verdict} text={cells.verdict} color={TONES[cells.tone]} />
          </Box>
        );
      })}
      {to - from < listHeight ? <Box height={listHeight - (to - from)} /> : null}
      {selected.map((line, i) => (
        <Text key={`sel-${i}`} color={theme.accent} wrap="truncate-end">
          {line}
        </Text>
      ))}
      <Box flexDirection="column" width={props.width} height={props.boxHeight}>
        {props.running && boxLines.length === 0 ? (
          <Text color={theme.dim}>probing… each probe runs the quantized model with one tap</Text>
        ) : null}
        {boxLines.map((l, i) => (
          <Text key={i} color={TONES[l.tone]} wrap="truncate-end">
            {l.text}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
