import { Box, Text } from 'ink';
import { Cell } from './Cell.js';
import { diffReports } from '../../analysis/report-diff.js';
import type { MetricName } from '../../analysis/metrics-target.js';
import { betterWord, diffCells, runLine, runPair } from '../runs.js';
import type { UiState } from '../state.js';
import { theme } from '../theme.js';
import { visibleRange } from '../viewport.js';

export interface RunsScreenProps {
  readonly width: number;
  readonly height: number;
  readonly state: UiState;
  readonly metric: MetricName;
}

/** The session's compares, the baseline marked; Enter shows one run against the baseline, tensor by tensor. */
export function RunsScreen(props: RunsScreenProps): React.JSX.Element {
  const { state, metric } = props;
  const pair = state.diff ? runPair(state) : null;
  if (pair) {
    const diff = diffReports(pair.baseline.report, pair.run.report, metric);
    const rows = props.height - 3;
    const { from, to } = visibleRange(state.diffView, diff.rows.length, rows);
    const t = diff.totals;
    const c = { value: 9, change: 9, mark: 9 };
    const tensor = Math.max(8, props.width - (c.value * 2 + c.change + c.mark + 6));
    return (
      <Box flexDirection="column" width={props.width} height={props.height}>
        <Text bold color={theme.accent} wrap="truncate-end">
          {`Run #${pair.run.id} against baseline #${pair.baseline.id} in ${metric} (${betterWord(metric)})`}
        </Text>
        <Text color={theme.dim} wrap="truncate-end">
          {`${t.improved} better · ${t.worse} worse · ${t.unchanged} unchanged${t.onlyInA + t.onlyInB > 0 ? ` · ${t.onlyInA} only in #${pair.baseline.id}, ${t.onlyInB} only in #${pair.run.id}` : ''}`}
        </Text>
        <Box width={props.width}>
          <Cell width={tensor} text="tensor" color={theme.dim} />
          <Text> </Text>
          <Cell width={c.value} text={`#${pair.baseline.id}`} color={theme.dim} align="right" />
          <Text> </Text>
          <Cell width={c.value} text={`#${pair.run.id}`} color={theme.dim} align="right" />
          <Text> </Text>
          <Cell width={c.change} text="change" color={theme.dim} align="right" />
          <Text> </Text>
          <Cell width={c.mark} text="" />
        </Box>
        {diff.rows.slice(from, to).map((d, i) => {
          const cells = diffCells(d, metric);
          const color = d.direction === 'better' ? theme.pass : d.direction === 'worse' ? theme.fail : undefined;
          return (
            <Box
              key={from + i}
              width={props.width}
              height={1}
              backgroundColor={from + i === state.diffView.cursor ? theme.cursorBg : undefined}
            >
              <Cell width={tensor} text={cells.tensor} />
              <Text> </Text>
              <Cell width={c.value} text={cells.a} align="right" />
              <Text> </Text>
              <Cell width={c.value} text={cells.b} align="right" />
              <Text> </Text>
              <Cell width={c.change} text={cells.change} color={color} align="right" />
              <Text> </Text>
              <Cell width={c.mark} text={cells.mark} color={color} />
            </Box>
          );
        })}
      </Box>
    );
  }
  const rows = props.height - 1;
  const { from, to } = visibleRange(state.views.runs, state.runs.length, rows);
  const baseline = state.baseline ?? state.runs[0]?.id;
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      <Text bold color={theme.accent} wrap="truncate-end">
        {`Runs (${state.runs.length})`}
        <Text color={theme.dim}> · ◆ baseline · space sets it · Enter compares a run with it</Text>
      </Text>
      {state.runs.slice(from, to).map((run, i) => {
        const selected = from + i === state.views.runs.cursor;
        return (
          <Box key={run.id} width={props.width} height={1} backgroundColor={selected ? theme.cursorBg : undefined}>
            <Text wrap="truncate-end">
              <Text color={theme.accent}>{selected ? '›' : ' '}</Text>
              <Text color={theme.warn}>{run.id === baseline ? '◆' : ' '}</Text>
              {` #${run.id} ${run.label} · ${runLine(run, metric)}`}
            </Text>
          </Box>
        );
      })}
    </Box>
  );
}
