import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';
import { builtinProfile, isProfilePath, parseProfile, type Profile } from '../quant/profile.js';

/**
 * A built-in profile by name, or a profile file by path (see isProfilePath). Throws a UserError
 * naming the file and the field at fault for a bad profile (quant/profile.ts parseProfile), and
 * listing the built-ins for an unknown name.
 */
export function loadProfile(nameOrPath: string): Profile {
  if (!isProfilePath(nameOrPath)) return builtinProfile(nameOrPath);
  const file = path.resolve(nameOrPath);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read profile '${displayName(nameOrPath)}' (${messageOf(error)}).`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around the error, which may hold control characters: show it escaped.
    throw new UserError(`Profile '${displayName(nameOrPath)}' is not valid JSON (${displayName(messageOf(error), 200)}).`, {
      cause: error,
    });
  }
  return parseProfile(json, file, path.basename(file, path.extname(file)));
}
