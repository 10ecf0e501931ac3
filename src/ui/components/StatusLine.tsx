import { Box, Text } from 'ink';
import { formatDuration, safeText } from '../format.js';
import { progressBar, spinner, timeLeftMs } from '../progress.js';
import { theme } from '../theme.js';
import type { JobStatus, Message, Prompt } from '../state.js';

export interface StatusLineProps {
  readonly width: number;
  readonly job: JobStatus | null;
  readonly message: Message | null;
  /** The text being typed, if a prompt is open: it takes the line. */
  readonly prompt?: Prompt | null;
  /** The clock, for the elapsed time, the time left and the spinner. */
  readonly now?: number;
}

const LEVEL_COLORS = { info: theme.dim, warn: theme.warn, error: theme.error } as const;
/** How long a message said during a job shows over the job's stage. */
const MESSAGE_MS = 5000;

/** The prompt being typed; else the job's stage, counts, bar and time left; else the last message. */
export function StatusLine(props: StatusLineProps): React.JSX.Element {
  const { job, prompt } = props;
  if (prompt) {
    // What the text finds so far (a search's match, a setting's problem) stays beside it.
    const note = props.message && prompt.kind === 'search' ? props.message : null;
    return (
      <Box width={props.width} height={1} overflow="hidden">
        <Box flexShrink={0}>
          <Text bold color={theme.accent}>{`${prompt.label}: `}</Text>
        </Box>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-start">
            {safeText(prompt.draft)}
            <Text inverse> </Text>
          </Text>
        </Box>
        {note ? (
          <Box flexShrink={1}>
            <Text color={LEVEL_COLORS[note.level]} wrap="truncate-end">
              {' '}
              {safeText(note.text)}
            </Text>
          </Box>
        ) : null}
      </Box>
    );
  }
  if (job) {
    const now = props.now ?? job.startedAt;
    const counts = job.total > 0 ? ` ${job.done}/${job.total}` : '';
    const stage = job.stage === job.kind || job.stage.startsWith(`${job.kind} `) ? job.stage : `${job.kind}: ${job.stage}`;
    const fresh = props.message?.at !== undefined && now - props.message.at < MESSAGE_MS ? props.message : null;
    const label = fresh ? fresh.text : `${stage}${counts}${job.detail ? ` ${job.detail}` : ''}`;
    const barWidth = Math.min(20, Math.max(8, Math.floor(props.width / 5)));
    const left = timeLeftMs(job.done, job.total, job.paceFrom, now);
    const bar = job.total > 0 ? progressBar(job.done, job.total, barWidth) : `${spinner(now)} working`.padEnd(barWidth, ' ');
    const clock = `${formatDuration(now - job.startedAt)}${left === null ? '' : `, ~${formatDuration(left)} left`}`;
    return (
      <Box width={props.width} height={1} overflow="hidden">
        <Box flexShrink={0}>
          <Text color={theme.warn}>{bar} </Text>
        </Box>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-end" color={fresh ? LEVEL_COLORS[fresh.level] : undefined}>
            {safeText(label)}
          </Text>
        </Box>
        <Box flexShrink={0}>
          <Text color={theme.dim}>
            {' '}
            {clock} {job.cancelling ? '' : 'Esc cancels'}
          </Text>
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
