import { Box, Text } from 'ink';
import { Cell } from './Cell.js';
import { displayName } from '../../core/closest.js';
import type { GraphRowView } from '../graph-rows.js';
import { statusColor, theme } from '../theme.js';

export interface GraphScreenProps {
  readonly width: number;
  /** Node rows to show (only the visible window). */
  readonly rows: readonly GraphRowView[];
  /** Position of the cursor within `rows`, or -1. */
  readonly cursor: number;
  /** Rows the list area holds (the list is padded to it). */
  readonly height: number;
  readonly filterText: string;
  /** The text being typed after `/`, or null. */
  readonly draft: string | null;
  readonly filterError: string | null;
  readonly shown: number;
  readonly total: number;
  /** First shown row's position in the filtered list (for the scroll indicator). */
  readonly offset: number;
  readonly metricLabel: string;
  /** The last comparison's values are from settings since changed: the metric column says so. */
  readonly stale?: boolean;
}

interface Columns {
  readonly index: number;
  readonly op: number;
  readonly name: number;
  readonly shape: number;
  readonly precision: number;
  readonly metric: number;
}

export function graphColumns(width: number, total: number): Columns {
  const index = Math.max(3, String(Math.max(0, total - 1)).length);
  const op = width >= 100 ? 22 : 13;
  const shape = width >= 100 ? 18 : 13;
  const precision = 6;
  const metric = 9;
  // cursor + tap marks and the spaces between columns
  const fixed = 2 + index + 1 + op + 1 + 1 + shape + 1 + precision + 1 + metric;
  return { index, op, name: Math.max(8, width - fixed - 1), shape, precision, metric };
}

/** Every node in topological order, virtualized: the parent passes only the visible rows. */
export function GraphScreen(props: GraphScreenProps): React.JSX.Element {
  const c = graphColumns(props.width, props.total);
  const filler = Math.max(0, props.height - props.rows.length);
  return (
    <Box flexDirection="column" width={props.width}>
      <FilterLine {...props} />
      <Box width={props.width}>
        <Text color={theme.dim}>{'  '}</Text>
        <Cell width={c.index} text="#" color={theme.dim} align="right" />
        <Text> </Text>
        <Cell width={c.op} text="op" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.name} text="name" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.shape} text="shape" color={theme.dim} />
        <Text> </Text>
        <Cell width={c.precision} text="prec" color={theme.dim} />
        <Text> </Text>
        <Cell
          width={c.metric}
          text={props.stale ? 'STALE' : props.metricLabel}
          color={props.stale ? theme.warn : theme.dim}
          align="right"
        />
      </Box>
      {props.rows.map((row, i) => (
        <GraphRow key={row.index} row={row} columns={c} selected={i === props.cursor} />
      ))}
      {filler > 0 ? <Box height={filler} /> : null}
    </Box>
  );
}

function FilterLine(props: GraphScreenProps): React.JSX.Element {
  const count = `${props.shown} of ${props.total}`;
  const position = props.shown > 0 ? ` · ${props.offset + 1}-${Math.min(props.shown, props.offset + props.height)}` : '';
  if (props.draft !== null) {
    return (
      <Box width={props.width}>
        <Text bold color={theme.accent}>
          /
        </Text>
        <Box flexGrow={1}>
          <Text wrap="truncate-start">
            {displayName(props.draft, 200)}
            <Text inverse> </Text>
          </Text>
        </Box>
        <Text color={props.filterError ? theme.error : theme.dim}> {props.filterError ? 'invalid' : count}</Text>
      </Box>
    );
  }
  return (
    <Box width={props.width}>
      {props.filterError ? (
        <Box flexGrow={1}>
          <Text color={theme.error} wrap="truncate-end">
            {props.filterError}
          </Text>
        </Box>
      ) : props.filterText ? (
        <Box flexGrow={1}>
          <Text wrap="truncate-end">
            <Text color={theme.dim}>filter </Text>
            <Text color={theme.accent}>{displayName(props.filterText, 200)}</Text>
          </Text>
        </Box>
      ) : (
        <Box flexGrow={1}>
          <Text color={theme.dim} wrap="truncate-end">
            / filter · 1 hotspots 2 quant 3 outputs 4 hot ops 0 all
          </Text>
        </Box>
      )}
      <Text color={theme.dim}>
        {' '}
        {count}
        {position}
      </Text>
    </Box>
  );
}

function GraphRow(props: { row: GraphRowView; columns: Columns; selected: boolean }): React.JSX.Element {
  const { row, columns: c, selected } = props;
  const bg = selected ? theme.cursorBg : undefined;
  const precisionText = row.precision ? `${row.precision}${row.edited ? '*' : ''}` : '';
  return (
    <Box
      width={2 + c.index + 1 + c.op + 2 + c.name + 1 + c.shape + 1 + c.precision + 1 + c.metric}
      height={1}
      flexShrink={0}
      backgroundColor={bg}
    >
      <Text color={theme.accent} bold>
        {selected ? '›' : ' '}
      </Text>
      <Text color={theme.tap}>{row.tapped ? '●' : ' '}</Text>
      <Cell width={c.index} text={String(row.index)} color={theme.dim} align="right" />
      <Text> </Text>
      <Cell width={c.op} text={row.opType} />
      <Text> </Text>
      <Cell width={c.name} text={row.name} bold={selected} />
      <Text> </Text>
      <Cell width={c.shape} text={row.shape} color={theme.dim} />
      <Text> </Text>
      <Cell width={c.precision} text={precisionText} color={row.precision ? theme.precision[row.precision] : undefined} />
      <Text> </Text>
      <Cell
        width={c.metric}
        text={row.status === 'fail' && row.metricText ? `✗${row.metricText}` : row.metricText}
        color={statusColor(row.status)}
        align="right"
      />
    </Box>
  );
}
