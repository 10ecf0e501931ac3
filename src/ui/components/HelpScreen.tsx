import { Box, Text } from 'ink';
import { HELP_LINES } from '../search-targets.js';
import { theme } from '../theme.js';
import { visibleRange, type Viewport } from '../viewport.js';
import { wrapText } from '../wrap.js';

export interface HelpScreenProps {
  readonly width: number;
  readonly height: number;
  readonly view: Viewport;
}

/**
 * Every key, by screen: one entry per key, the section named at its first key, descriptions
 * wrapped (never cut). The list scrolls with the cursor; the title says which part is shown.
 */
export function HelpScreen(props: HelpScreenProps): React.JSX.Element {
  const keyWidth = 20;
  const rows = props.height - 1;
  let { from } = visibleRange(props.view, HELP_LINES.length, rows);
  // Titles and wrapped lines take more rows than entries: start later until the cursor's entry is shown.
  while (from < props.view.cursor && render(from, props.width, keyWidth, rows, props.view.cursor).at <= props.view.cursor) from++;
  const { lines, at } = render(from, props.width, keyWidth, rows, props.view.cursor);
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text color={theme.dim} wrap="truncate-end">
        {`Keys · ${from + 1}-${Math.min(at, HELP_LINES.length)} of ${HELP_LINES.length} · ↑↓ PgDn scroll · / search · any other key returns`}
      </Text>
      {lines.slice(0, rows)}
    </Box>
  );
}

function render(from: number, width: number, keyWidth: number, rows: number, cursor: number): { lines: React.JSX.Element[]; at: number } {
  const lines: React.JSX.Element[] = [];
  let last = from > 0 ? HELP_LINES[from - 1].section : '';
  let at = from;
  while (at < HELP_LINES.length && lines.length < rows) {
    const entry = HELP_LINES[at];
    if (entry.section !== last) {
      lines.push(
        <Text key={`t-${at}`} bold color={theme.accent}>
          {entry.section}
        </Text>,
      );
      last = entry.section;
      if (lines.length >= rows) break;
    }
    const wrapped = wrapText(entry.description, width - keyWidth - 1);
    if (lines.length + wrapped.length > rows) break;
    const index = at;
    wrapped.forEach((text, i) =>
      lines.push(
        <Box key={`${index}-${i}`} width={width} backgroundColor={index === cursor ? theme.cursorBg : undefined}>
          <Box width={keyWidth} flexShrink={0}>
            <Text color={theme.key}>{i === 0 ? ` ${entry.keys}` : ''}</Text>
          </Box>
          <Text>{text}</Text>
        </Box>,
      ),
    );
    at++;
  }
  return { lines, at };
}
