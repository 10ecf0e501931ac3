import type { ComparisonReport } from '../analysis/comparison.js';
import { displayName } from '../core/closest.js';
import { reportColumns, summaryLines } from './report-cells.js';
import { formatFindingsMarkdown } from './findings-text.js';

/**
 * A name as a Markdown code span that no name can break out of: control characters escaped by
 * displayName, a backtick fence longer than any run of backticks inside, and `|` escaped so a
 * GitHub table cell stays one cell.
 */
export function markdownCode(name: string): string {
  const shown = displayName(name, 200).replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(shown.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = shown.startsWith('`') || shown.endsWith('`') || shown === '' ? ' ' : '';
  return `${fence}${pad}${shown}${pad}${fence}`;
}

/** Plain text in a table cell: `|` escaped, Markdown and HTML punctuation escaped. */
function markdownText(text: string): string {
  return text.replace(/[\\`*_{}[\]<>#|!]/g, (c) => `\\${c}`);
}

/** The report as a GitHub Markdown table plus a summary naming the first failing tensor and the worst source, then the findings. */
export function formatMarkdown(report: ComparisonReport): string {
  const columns = reportColumns(report);
  const lines: string[] = [];
  const title = [report.model, report.profile].filter((x): x is string => x !== undefined);
  lines.push(`## Comparison${title.length ? `: ${title.map((t) => markdownCode(t)).join(' · ')}` : ''}`, '');
  lines.push(`| ${columns.map((c) => markdownText(c.header)).join(' | ')} |`);
  lines.push(`|${columns.map((c) => (c.align === 'right' ? ' ---: ' : ' --- ')).join('|')}|`);
  for (const row of report.rows) {
    const cells = columns.map((c) => {
      if (c.header === 'node') return row.node ? markdownCode(row.node) : '';
      if (c.header === 'tensor') return markdownCode(row.tensor);
      if (c.header === 'op type') return markdownCode(row.opType);
      const text = markdownText(c.cell(row, report));
      return c.header === 'pass' && !row.pass ? `**${text}**` : text;
    });
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('', ...summaryLines(report, { quote: markdownCode, text: markdownText }).map((l) => `- ${l}`), '');
  lines.push(...formatFindingsMarkdown(report.findings, markdownText));
  return lines.join('\n');
}
