import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { closestNames, displayName } from '../../core/closest.js';
import { messageOf, UserError } from '../../core/errors.js';
import { splitSpec } from '../../core/selector.js';
import { resolvePlan, type Override, type Plan } from '../../quant/plan.js';
import { isProfilePath, type Profile } from '../../quant/profile.js';
import { loadProfile } from '../../store/profile-file.js';
import { makeDirectory } from '../../store/directories.js';
import { readPlanFile, writePlanFile } from '../../store/plan-file.js';
import { exactSpec, planWithEdits, sessionOverrides, type Session } from './session.js';

/**
 * Plans as files for the TUI (`w` saves, `o` opens), in the format of store/plan-file.ts that
 * `--plan` reads, so a plan saved in the session runs unchanged with compare, bisect, fix and emit.
 */

/** Where a session's plan is saved unless the user says: `dumps/<model>.plan.json` under the working directory, absolute. */
export function defaultPlanPath(session: Session): string {
  return resolve('dumps', `${session.ctx.modelName}.plan.json`);
}

/**
 * Writes the session's plan (its profile, the base overrides from `--plan` and `--precision`,
 * then the edits) as a plan file, atomically; returns the file's absolute path. A profile file is
 * written relative to the plan file's folder, where the reader resolves it.
 */
export function savePlan(session: Session, edits: readonly Override[], path: string): string {
  const file = resolve(path);
  // The plan must resolve before it is written: a file that --plan would refuse is never saved.
  planWithEdits(session, edits);
  makeDirectory(dirname(file), "The plan file's directory");
  writePlanFile(file, { profile: profileSpec(session.settings.profile, file), overrides: sessionOverrides(session, edits) });
  return file;
}

function profileSpec(profile: string, file: string): string {
  if (!isProfilePath(profile)) return profile;
  const rel = relative(dirname(file), resolve(profile));
  if (isAbsolute(rel)) return rel;
  // A bare file name without `.json` would read back as a built-in profile's name.
  return rel.includes(sep) || rel.includes('/') ? rel : `.${sep}${rel}`;
}

/**
 * Reads a plan file for the session: its overrides as edits relative to the session's base plan,
 * one exact node spec per node whose precision differs (the form the TUI's own edits take).
 * Refused, in one sentence naming the file: a plan for another profile, and one that names a node
 * or tensor the model lacks or that does not resolve on its graph.
 */
export function openPlan(session: Session, path: string): readonly Override[] {
  const file = resolve(path);
  const label = `Plan file '${displayName(file)}'`;
  const planFile = readPlanFile(file);
  let profile: Profile;
  try {
    profile = loadProfile(planFile.profile);
  } catch (error) {
    throw new UserError(`${label} names a profile that cannot be loaded: ${messageOf(error)}`, { cause: error });
  }
  if (!sameProfile(profile, session.profile)) {
    throw new UserError(
      `${label} is for profile '${displayName(profile.name)}', but the session runs '${displayName(session.profile.name)}'; change the profile in the settings first.`,
    );
  }
  const graph = session.ctx.graph;
  const names = new Set<string>();
  for (const n of graph.nodes) {
    names.add(n.name);
    for (const o of n.outputs) if (o !== '') names.add(o);
  }
  for (const [spec] of planFile.overrides) {
    for (const term of splitSpec(spec)) {
      if (isPatternTerm(term) || names.has(term)) continue;
      const near = closestNames(term, names, 2).map((c) => `'${displayName(c)}'`);
      throw new UserError(
        `${label} names node '${displayName(term)}', which model '${displayName(session.ctx.modelName)}' does not hold${near.length > 0 ? ` (the closest are ${near.join(', ')})` : ''}.`,
      );
    }
  }
  let plan: Plan;
  try {
    plan = resolvePlan(graph, session.profile, planFile.overrides);
  } catch (error) {
    throw new UserError(`${label} does not fit model '${displayName(session.ctx.modelName)}': ${messageOf(error)}`, { cause: error });
  }
  const base = session.basePlan;
  return graph.nodes.flatMap((n) => {
    const p = plan.precision.get(n.name);
    return p !== undefined && p !== base.precision.get(n.name) ? [[exactSpec(n.name), p] as const] : [];
  });
}

/** The same profile: the same built-in name or file, or a profile with the same content. */
function sameProfile(a: Profile, b: Profile): boolean {
  if (a.source === b.source) return true;
  const content = (p: Profile): string => JSON.stringify({ ...p, source: '' });
  return content(a) === content(b);
}

/** A term of the selection language that selects by pattern (as quant/plan.ts reads it), not by an exact name. */
function isPatternTerm(term: string): boolean {
  return term.startsWith('@') || term.startsWith('op:') || term.startsWith('re:') || term.includes('*') || term.includes('?');
}
