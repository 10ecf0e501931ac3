import { Box, Text } from 'ink';
import { displayName } from '../../core/closest.js';
import { theme } from '../theme.js';
import type { JobStatus, Screen } from '../state.js';

export interface HeaderProps {
  readonly width: number;
  readonly model: string;
  readonly profile: string;
  readonly nodes: number;
  readonly inputs: readonly string[];
  readonly taps: number;
  readonly edits: number;
  readonly screen: Screen;
  readonly job: JobStatus | null;
}

/** Two lines: model, profile, counts, the screen and the status; then the inputs. */
export function Header(props: HeaderProps): React.JSX.Element {
  const status = props.job ? `${props.job.kind}${props.job.cancelling ? ' cancelling' : '…'}` : 'idle';
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const left = [
    displayName(props.model, 40),
    plural(props.nodes, 'node'),
    plural(props.taps, 'tap'),
    ...(props.edits > 0 ? [plural(props.edits, 'edit')] : []),
  ].join(' · ');
  return (
    <Box flexDirection="column" width={props.width} height={2} flexShrink={0} overflow="hidden">
      <Box width={props.width}>
        <Text bold color={theme.title}>
          quantscope{' '}
        </Text>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-end">{left}</Text>
        </Box>
        <Box flexShrink={0}>
          <Text color={theme.dim}> {props.screen} · </Text>
          <Text color={props.job ? theme.warn : theme.dim}>{status}</Text>
        </Box>
      </Box>
      <Box width={props.width}>
        <Text color={theme.dim} wrap="truncate-end">
          profile {displayName(props.profile, 24)} · inputs {props.inputs.map((i) => displayName(i, 60)).join(', ') || '(none)'}
        </Text>
      </Box>
    </Box>
  );
}
