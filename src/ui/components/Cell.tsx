import { Box, Text } from 'ink';

/** One table cell: a fixed width, text cut at its end, left or right aligned. The tables of every screen use it. */
export function Cell(props: { width: number; text: string; color?: string; align?: 'left' | 'right'; bold?: boolean }): React.JSX.Element {
  return (
    <Box width={props.width} flexShrink={0} justifyContent={props.align === 'right' ? 'flex-end' : 'flex-start'}>
      <Text color={props.color} bold={props.bold} wrap="truncate-end">
        {props.text}
      </Text>
    </Box>
  );
}
