import { Box, Text } from 'ink';
import type { ComparisonRow } from '../../analysis/comparison.js';
import { displayName } from '../../core/closest.js';
import { detailLines } from '../detail-lines.js';
import { formatShape, safeText } from '../format.js';
import { theme } from '../theme.js';

export interface DetailViewProps {
  readonly width: number;
  readonly height: number;
  readonly row: ComparisonRow;
  /** Row position and count, for "3 of 12". */
  readonly position: number;
  readonly count: number;
  readonly firstFailing: boolean;
}

/** Everything measured at one tensor: accumulated beside own error. */
export function DetailView(props: DetailViewProps): React.JSX.Element {
  const { row } = props;
  const lines = detailLines(row);
  const labelWidth = 16;
  const valueWidth = Math.max(12, Math.floor((props.width - labelWidth - 3) / 2));
  const room = Math.max(0, props.height - 3);
  const shown = lines.slice(0, room);
  const filler = Math.max(0, props.height - 3 - shown.length);
  return (
    <Box flexDirection="column" width={props.width}>
      <Box width={props.width}>
        <Text wrap="truncate-end">
          <Text color={row.pass ? theme.pass : theme.fail} bold>
            {row.pass ? '✓ ' : '✗ '}
          </Text>
          <Text bold color={props.firstFailing ? theme.firstFailFg : undefined}>
            {displayName(row.tensor)}
          </Text>
          <Text color={theme.dim}>
            {' '}
            ({props.position + 1} of {props.count}
            {props.firstFailing ? ', first failing' : ''})
          </Text>
        </Text>
      </Box>
      <Box width={props.width}>
        <Text color={theme.dim} wrap="truncate-end">
          node {displayName(row.node || '(input)', 50)} · {row.opType || 'input'} #{row.index} · {formatShape(row.shape)} {row.dtype}
          {row.verdict ? ` · ${row.verdict}` : ''}
          {row.error ? ` · ${safeText(row.error)}` : ''}
        </Text>
      </Box>
      <Box width={props.width}>
        <Box width={labelWidth}>
          <Text color={theme.dim}> </Text>
        </Box>
        <Box width={valueWidth}>
          <Text color={theme.dim} underline>
            accumulated
          </Text>
        </Box>
        <Box width={valueWidth}>
          <Text color={theme.dim} underline>
            own
          </Text>
        </Box>
      </Box>
      {shown.map((l) => (
        <Box key={l.label} width={props.width}>
          <Box width={labelWidth} flexShrink={0}>
            <Text color={theme.dim}>{l.label}</Text>
          </Box>
          <Box width={valueWidth} flexShrink={0}>
            <Text color={l.alarm ? theme.fail : undefined} wrap="truncate-end">
              {l.accumulated}
            </Text>
          </Box>
          <Box width={valueWidth} flexShrink={0}>
            <Text wrap="truncate-end">{l.own}</Text>
          </Box>
        </Box>
      ))}
      {filler > 0 ? <Box height={filler} /> : null}
    </Box>
  );
}
