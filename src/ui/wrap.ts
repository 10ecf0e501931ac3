/**
 * Word wrap for the screens: text broken into lines of at most `width` code points, at spaces
 * where it can, inside a word only when the word alone is longer than a line. Nothing is dropped:
 * joining the lines with spaces gives the text back (runs of spaces become one).
 */
export function wrapText(text: string, width: number, indent = ''): string[] {
  const w = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    const push = (): void => {
      lines.push(line);
      line = indent;
    };
    for (const word of paragraph.split(/ +/).filter((x) => x !== '')) {
      let chars = [...word];
      const lineLength = [...line].length;
      const room = lineLength === 0 || line === indent ? w - lineLength : w - lineLength - 1;
      if (chars.length <= room) {
        line = line === '' || line === indent ? line + word : `${line} ${word}`;
        continue;
      }
      if (line !== '' && line !== indent && chars.length <= w - [...indent].length) {
        push();
        line += word;
        continue;
      }
      // A word longer than a line: fill this line, then whole lines of it.
      if (line !== '' && line !== indent) line += ' ';
      while (chars.length > 0) {
        const space = w - [...line].length;
        if (space <= 0) {
          push();
          continue;
        }
        line += chars.slice(0, space).join('');
        chars = chars.slice(space);
        if (chars.length > 0) push();
      }
    }
    lines.push(line);
  }
  return lines;
}
