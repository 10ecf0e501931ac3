import { Box, Text } from 'ink';
import { describeSettings, type SessionSettings } from '../../app/session/session-settings.js';
import { safeText } from '../format.js';
import { SETTING_FIELDS } from '../settings-fields.js';
import { theme } from '../theme.js';
import { wrapText } from '../wrap.js';

export interface SettingsScreenProps {
  readonly width: number;
  readonly height: number;
  /** What the session runs with. */
  readonly applied: SessionSettings;
  /** The settings as edited (null: unchanged). */
  readonly draft: SessionSettings | null;
  readonly error: string | null;
  readonly cursor: number;
  /** What an apply would make stale, e.g. `compare, bisect`. */
  readonly stale: readonly string[];
}

/** The settings a run depends on, one per line; the chosen one explained; what applying would change. */
export function SettingsScreen(props: SettingsScreenProps): React.JSX.Element {
  const shown = props.draft ?? props.applied;
  const label = Math.max(...SETTING_FIELDS.map((f) => f.label.length)) + 2;
  const field = SETTING_FIELDS[props.cursor];
  const words = describeSettings(shown);
  const changed = (f: (typeof SETTING_FIELDS)[number]): boolean => props.draft !== null && f.show(props.draft) !== f.show(props.applied);
  const notes: { text: string; color?: string }[] = [
    ...wrapText(field.help, props.width - 2).map((t) => ({ text: ` ${t}`, color: theme.dim })),
    { text: '' },
    ...wrapText(`gate: ${words.gate}`, props.width - 2).map((t) => ({ text: ` ${t}` })),
    ...wrapText(`fix target: ${words.target}`, props.width - 2).map((t) => ({ text: ` ${t}` })),
  ];
  if (props.draft) {
    const status = props.error
      ? { text: `cannot apply: ${props.error}`, color: theme.error }
      : {
          text: `a applies (${props.stale.length > 0 ? `${props.stale.join(', ')} results turn stale` : 'no result depends on it'}); x drops the changes`,
          color: theme.warn,
        };
    notes.push({ text: '' }, ...wrapText(safeText(status.text), props.width - 2).map((t) => ({ text: ` ${t}`, color: status.color })));
  }
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text bold color={theme.accent}>
        Settings <Text color={theme.dim}>· ↑↓ field · Enter types · ←→ choices · a applies · x drops</Text>
      </Text>
      {SETTING_FIELDS.map((f, i) => (
        <Box key={f.field} width={props.width} height={1} backgroundColor={i === props.cursor ? theme.cursorBg : undefined}>
          <Text color={theme.accent}>{i === props.cursor ? '›' : ' '}</Text>
          <Text color={changed(f) ? theme.warn : undefined}>{changed(f) ? '*' : ' '}</Text>
          <Box width={label} flexShrink={0}>
            <Text color={theme.dim}>{f.label}</Text>
          </Box>
          <Box flexGrow={1} flexShrink={1}>
            <Text wrap="truncate-end">{safeText(f.show(shown))}</Text>
          </Box>
        </Box>
      ))}
      <Text> </Text>
      {notes.slice(0, Math.max(0, props.height - SETTING_FIELDS.length - 2)).map((n, i) => (
        <Text key={i} color={n.color} wrap="truncate-end">
          {n.text || ' '}
        </Text>
      ))}
    </Box>
  );
}
