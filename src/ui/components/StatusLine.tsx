import { Box, Text } from 'ink';
import { safeText } from '../format.js';
import { progressBar } from '../progress.js';
import { theme } from '../theme.js';
import type { JobStatus, Message } from '../state.js';

export interface StatusLineProps {
  readonly width: number;
  readonly job: JobStatus | null;
  readonly message: Message | null;
  /** Seconds since the job started, shown beside its progress. */
  readonly elapsed?: string;
}

const LEVEL_COLORS = { info: theme.dim, warn: theme.warn, error: theme.error } as const;

/** The job's stage and progress bar while work runs; otherwise the last message. */
export function StatusLine(props: StatusLineProps): React.JSX.Element {
  const { job } = props;
  if (job) {
    const counts = job.total > 0 ? ` ${job.done}/${job.total}` : '';
    const stage = job.stage === job.kind || job.stage.startsWith(`${job.kind} `) ? job.stage : `${job.kind}: ${job.stage}`;
    const label = `${stage}${counts}${job.detail ? ` ${job.detail}` : ''}`;
    const barWidth = Math.min(20, Math.max(8, Math.floor(props.width / 5)));
    return (
      <Box width={props.width} height={1} overflow="hidden">
        <Box flexShrink={0}>
          <Text color={theme.warn}>{job.total > 0 ? progressBar(job.done, job.total, barWidth) : '…'.padEnd(barWidth, ' ')} </Text>
        </Box>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-end">{safeText(label)}</Text>
        </Box>
        <Box flexShrink={0}>
          <Text color={theme.dim}> {props.elapsed ?? ''} Esc cancels</Text>
        </Box>
      </Box>
    );
  }
  return (
    <Box width={props.width} height={1} overflow="hidden">
      <Text color={props.message ? LEVEL_COLORS[props.message.level] : theme.dim} wrap="truncate-end">
        {props.message ? safeText(props.message.text) : ' '}
      </Text>
    </Box>
  );
}
