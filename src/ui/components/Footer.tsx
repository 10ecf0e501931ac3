import { Box, Text } from 'ink';
import { fitHints, type Hint } from '../keymap.js';
import { theme } from '../theme.js';

export interface FooterProps {
  readonly width: number;
  readonly hints: readonly Hint[];
}

/** One line of key hints, as many as fit; help and quit always shown. */
export function Footer(props: FooterProps): React.JSX.Element {
  const hints = fitHints(props.hints, props.width - 1);
  return (
    <Box width={props.width} height={1} flexShrink={0} overflow="hidden">
      <Text wrap="truncate-end">
        {hints.map((h, i) => (
          <Text key={`${h.key}-${h.label}`}>
            {i > 0 ? '  ' : ''}
            <Text bold color={theme.key}>
              {h.key}
            </Text>
            <Text color={theme.dim}> {h.label}</Text>
          </Text>
        ))}
      </Text>
    </Box>
  );
}
