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
  /** Whether the plan with its edits has been measured since it last changed, and where it is saved. */
  readonly evaluated: boolean;
  readonly saved: boolean;
  /** The gate in words, e.g. `snrDb ≥ 30, outputs also psnrDb ≥ 40`. */
  readonly gate: string;
  readonly screen: Screen;
  readonly job: JobStatus | null;
}

/** The plan in a few words: its edits, whether they were measured, whether they are saved. */
export function planState(p: { edits: number; evaluated: boolean; saved: boolean }): string {
  if (p.edits === 0) return 'plan: base';
  const edits = `${p.edits} edit${p.edits === 1 ? '' : 's'}`;
  return `plan: ${edits}, ${p.evaluated ? 'measured' : 'NOT measured'}${p.saved ? '' : ', unsaved'}`;
}

/** Two lines: model, counts, the screen and the job; then the plan's state (first: never cut), profile, gate and inputs. */
export function Header(props: HeaderProps): React.JSX.Element {
  const status = props.job ? `${props.job.kind}${props.job.cancelling ? ' cancelling' : '…'}` : 'idle';
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const left = [displayName(props.model, 40), plural(props.nodes, 'node'), plural(props.taps, 'tap')].join(' · ');
  const second = [
    planState(props),
    `profile ${displayName(props.profile, 24)}`,
    `gate ${props.gate}`,
    `inputs ${props.inputs.map((i) => displayName(i, 60)).join(', ') || '(none)'}`,
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
          {second}
        </Text>
      </Box>
    </Box>
  );
}
