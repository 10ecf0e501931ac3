import type { Finding } from '../analysis/advisor-finding.js';

/**
 * The advisor's findings as text, for the end of every compare, bisect and fix report: a
 * "Findings" heading, then per finding its severity, rule, message and what to do. Messages name
 * tensors already escaped; control characters that a hand-edited report.json might carry are
 * shown as \xNN here so nothing reaches a terminal raw.
 */

const COLOURS: Readonly<Record<Finding['severity'], string>> = { error: '\x1b[31m', warning: '\x1b[33m', info: '\x1b[36m' };
const RESET = '\x1b[39m';

/** Control characters (C0, DEL, C1) as \xNN; everything else as is. */
export function plainText(text: string): string {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The findings block for a terminal; '' when there are none. */
export function formatFindingsText(findings: readonly Finding[] | undefined, options: { color?: boolean } = {}): string {
  if (!findings || findings.length === 0) return '';
  const lines = [`Findings (${findings.length}):`];
  for (const f of findings) {
    const severity = options.color ? `${COLOURS[f.severity] ?? ''}${f.severity}${RESET}` : f.severity;
    lines.push(`- [${severity}] ${plainText(f.rule)}: ${plainText(f.message)}`);
    lines.push(`  Next: ${plainText(f.suggestion)}`);
  }
  return lines.join('\n');
}

/** The findings as a Markdown section (`### Findings` and a list); `escape` escapes plain text for Markdown. */
export function formatFindingsMarkdown(findings: readonly Finding[] | undefined, escape: (text: string) => string): string[] {
  if (!findings || findings.length === 0) return [];
  const lines = ['### Findings', ''];
  for (const f of findings) {
    lines.push(`- **${escape(f.severity)}** ${escape(f.rule)}: ${escape(plainText(f.message))}`);
    lines.push(`  *Next:* ${escape(plainText(f.suggestion))}`);
  }
  lines.push('');
  return lines;
}

/** A report's text followed by a blank line and the findings block, when there are findings. */
export function withFindings(text: string, findings: readonly Finding[] | undefined, options: { color?: boolean } = {}): string {
  const block = formatFindingsText(findings, options);
  return block ? `${text}\n\n${block}` : text;
}
