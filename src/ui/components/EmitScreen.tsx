import { Box, Text } from 'ink';
import type { EmitView } from '../../app/session/session-jobs.js';
import { displayName } from '../../core/closest.js';
import { safeText, truncateLeft } from '../format.js';
import { theme } from '../theme.js';

export interface EmitScreenProps {
  readonly width: number;
  readonly height: number;
  readonly running: boolean;
  readonly result: EmitView | null;
  readonly error: string | null;
  /** The session's precision edits, shown while writing. */
  readonly edits: number;
}

/** Where the emitted model went and what its verification found. */
export function EmitScreen(props: EmitScreenProps): React.JSX.Element {
  const r = props.result;
  const pathWidth = Math.max(20, props.width - 12);
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text bold color={theme.accent}>
        Emit
      </Text>
      {props.running ? (
        <Text color={theme.dim}>writing the model with {props.edits} session edit(s), then reopening and rerunning it to verify…</Text>
      ) : null}
      {props.error ? (
        <Text color={theme.error} wrap="truncate-end">
          {safeText(props.error)}
        </Text>
      ) : null}
      {r ? (
        <Box flexDirection="column">
          <Text color={r.verified ? theme.pass : theme.fail} bold>
            {r.verified ? '✓ written and verified' : '✗ verification failed'}
          </Text>
          {r.files.map((f) => (
            <Box key={f.path}>
              <Box width={10} flexShrink={0}>
                <Text color={theme.dim}>{f.role}</Text>
              </Box>
              <Text wrap="truncate-start">{truncateLeft(displayName(f.path, 400), pathWidth)}</Text>
            </Box>
          ))}
          {r.checks.map((c, i) => (
            <Text key={i} color={theme.dim} wrap="truncate-end">
              · {safeText(c)}
            </Text>
          ))}
          <Text wrap="truncate-end">{safeText(r.summary)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
