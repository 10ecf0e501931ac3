import { Box, Text } from 'ink';
import { HELP } from '../keymap.js';
import { theme } from '../theme.js';

export interface HelpScreenProps {
  readonly width: number;
  readonly height: number;
}

/** Every key, by screen, in the body's height (sections that do not fit are cut at the bottom). */
export function HelpScreen(props: HelpScreenProps): React.JSX.Element {
  const keyWidth = 20;
  const lines: React.JSX.Element[] = [];
  for (const section of HELP) {
    lines.push(
      <Text key={`t-${section.title}`} bold color={theme.accent}>
        {section.title}
      </Text>,
    );
    for (const k of section.keys) {
      lines.push(
        <Box key={`${section.title}-${k.keys}`} width={props.width}>
          <Box width={keyWidth} flexShrink={0}>
            <Text color={theme.key}> {k.keys}</Text>
          </Box>
          <Text wrap="truncate-end">{k.description}</Text>
        </Box>,
      );
    }
  }
  return (
    <Box flexDirection="column" width={props.width} height={props.height}>
      {lines.slice(0, props.height)}
    </Box>
  );
}
