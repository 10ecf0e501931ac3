import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import { isPrecision, normalizeOverrides, type Override, type PlanFile } from '../quant/plan.js';
import { isProfilePath } from '../quant/profile.js';

/**
 * Plan files: `{ "profile": "generic-int8", "overrides": { "<spec>": "int16", ... } }`.
 *
 * The overrides object is an ordered list (later keys win), but JavaScript objects put
 * integer-like keys ("123", a common tensor name in exported models) first. So the key order is
 * read from the text itself, and files are written by hand rather than with JSON.stringify.
 * A relative profile path is resolved against the plan file's directory.
 */

export function readPlanFile(file: string): PlanFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read plan file '${displayName(file)}' (${messageOf(error)}).`, { cause: error });
  }
  return parsePlanText(text, file);
}

/** Parses and validates a plan file's text; `file` is named in errors and anchors a relative profile path. */
export function parsePlanText(text: string, file: string): PlanFile {
  const label = `Plan file '${displayName(file)}'`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error, which may hold control characters: show it escaped.
    throw new UserError(`${label} is not valid JSON (${displayName(messageOf(error), 200)}).`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UserError(`${label} must hold a JSON object with fields 'profile' and 'overrides'.`);
  }
  const root = json as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (key !== 'profile' && key !== 'overrides' && !key.startsWith('$')) {
      throw new UserError(`${label}: field '${displayName(key)}' is not a plan field (the fields are 'profile' and 'overrides').`);
    }
  }
  const profile = root.profile;
  if (typeof profile !== 'string' || profile.trim() === '') {
    throw new UserError(`${label}: field 'profile' must be a profile name or a path to a profile file.`);
  }
  const raw = root.overrides ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError(`${label}: field 'overrides' must be an object mapping node specs to precisions.`);
  }
  const values = raw as Record<string, unknown>;
  const order = overrideKeyOrder(text);
  const seen = new Set<string>();
  for (const key of order) {
    if (seen.has(key)) throw new UserError(`${label}: override '${displayName(key)}' appears twice.`);
    seen.add(key);
  }
  const overrides: Override[] = [];
  for (const key of order) {
    const value = values[key];
    if (!isPrecision(value)) {
      throw new UserError(
        `${label}: override '${displayName(key)}' must be 'int8', 'a16w8', 'int16', 'fp16' or 'fp32', not ${typeof value === 'string' ? `'${displayName(value, 40)}'` : displayName(JSON.stringify(value) ?? String(value), 40)}.`,
      );
    }
    overrides.push([key, value]);
  }
  const resolved = isProfilePath(profile) && !path.isAbsolute(profile) ? path.resolve(path.dirname(path.resolve(file)), profile) : profile;
  return { profile: resolved, overrides };
}

/** The plan file's text: two-space indentation, overrides in order, a final newline. */
export function formatPlanFile(plan: PlanFile): string {
  const entries = plan.overrides.map(([spec, p]) => `    ${JSON.stringify(spec)}: ${JSON.stringify(p)}`);
  const overrides = entries.length === 0 ? '{}' : `{\n${entries.join(',\n')}\n  }`;
  return `{\n  "profile": ${JSON.stringify(plan.profile)},\n  "overrides": ${overrides}\n}\n`;
}

/**
 * Writes the plan file atomically (core/atomic-file.ts), so a reader sees the old file or the new
 * one. A spec given twice keeps its last value and position.
 */
export function writePlanFile(file: string, plan: PlanFile): void {
  const text = formatPlanFile({ profile: plan.profile, overrides: normalizeOverrides(plan.overrides) });
  try {
    writeFileAtomic(file, text);
  } catch (error) {
    throw new UserError(`Cannot write plan file '${displayName(file)}' (${messageOf(error)}).`, { cause: error });
  }
}

/**
 * The keys of the root object's `overrides` object, in file order (duplicates kept). Expects text
 * that JSON.parse accepted. A minimal scanner: it tracks containers and keys, and skips values.
 */
export function overrideKeyOrder(text: string): string[] {
  interface Frame {
    readonly object: boolean;
    readonly collect: boolean;
    expectKey: boolean;
    lastKey: string | null;
  }
  const stack: Frame[] = [];
  const keys: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '{' || c === '[') {
      const parent = stack[stack.length - 1];
      const collect = c === '{' && stack.length === 1 && parent.object && parent.lastKey === 'overrides';
      stack.push({ object: c === '{', collect, expectKey: c === '{', lastKey: null });
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
      i++;
    } else if (c === ':') {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = false;
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        top.lastKey = key;
        if (top.collect) keys.push(key);
      }
      i = j + 1;
    } else {
      i++;
    }
  }
  return keys;
}
