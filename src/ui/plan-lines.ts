import type { Session } from '../app/session/session.js';
import { displayName } from '../core/closest.js';
import { defaultPrecision } from '../quant/plan.js';
import type { UiState } from './state.js';
import { wrapText } from './wrap.js';

export interface PlanLine {
  readonly text: string;
  readonly tone: 'head' | 'plain' | 'dim' | 'warn';
}

/**
 * The whole plan in force, as lines: where it stands (measured, saved), the session's edits, the
 * overrides it started from (plan file, `--precision`), and every node whose precision is not
 * its default under the profile, with what it is and what it would be.
 */
export function planLines(state: UiState, session: Session): PlanLine[] {
  const plan = state.plan;
  const lines: PlanLine[] = [];
  const where = state.savedTo ? `saved to ${state.savedTo}` : state.edits.length > 0 ? 'not saved (w saves it)' : 'nothing to save';
  lines.push({
    text: `profile ${plan.profile.name} · ${state.planEvaluated ? 'measured' : 'not measured since its last change'} · ${where}`,
    tone: 'dim',
  });
  lines.push({ text: `edits of this session (${state.edits.length})`, tone: 'head' });
  if (state.edits.length === 0)
    lines.push({ text: "  none: p cycles a node's precision, Enter on a bisect or fix applies its plan", tone: 'dim' });
  for (const [spec, precision] of state.edits) lines.push({ text: `  ${displayName(spec, 200)} = ${precision}`, tone: 'warn' });
  const base = session.basePlan.overrides;
  lines.push({ text: `from the plan file and --precision (${base.length})`, tone: 'head' });
  if (base.length === 0) lines.push({ text: '  none', tone: 'dim' });
  for (const [spec, precision] of base) lines.push({ text: `  ${displayName(spec, 200)} = ${precision}`, tone: 'plain' });
  const changed = session.ctx.graph.nodes.filter((n) => {
    const p = plan.precision.get(n.name);
    return p !== undefined && p !== defaultPrecision(plan.profile, n);
  });
  lines.push({ text: `nodes away from the profile's default (${changed.length})`, tone: 'head' });
  if (changed.length === 0) lines.push({ text: '  none: every node runs at its default', tone: 'dim' });
  for (const n of changed) {
    lines.push({
      text: `  #${n.index} ${displayName(n.name, 200)} (${n.opType}) ${defaultPrecision(plan.profile, n)} → ${plan.precision.get(n.name)}`,
      tone: 'plain',
    });
  }
  return lines;
}

/** The plan's lines wrapped to the screen's width, as the plan screen draws them (names never cut). */
export function wrappedPlanLines(state: UiState, session: Session, width: number): PlanLine[] {
  return planLines(state, session).flatMap((l) => {
    const indent = /^ */.exec(l.text)?.[0] ?? '';
    return wrapText(l.text.trimStart(), width - 1 - indent.length, '  ').map((text) => ({ text: indent + text, tone: l.tone }));
  });
}
