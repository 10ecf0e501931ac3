import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';

/**
 * Creates a directory and its missing parents, one level at a time. Node's own recursive
 * mkdirSync never returns for some paths (`/proc/1/nope`: the parent exists, mkdir answers
 * ENOENT, and it retries forever, synchronously, so no signal is handled either); creating each
 * missing level with a plain mkdir fails at once with the level at fault. Throws a UserError
 * naming the directory (`what`, e.g. "Run directory") and the system's code.
 */
export function makeDirectory(dir: string, what = 'Directory'): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let cur = target; !fs.existsSync(cur); cur = path.dirname(cur)) {
    missing.push(cur);
    if (path.dirname(cur) === cur) break;
  }
  for (const level of missing.reverse()) {
    try {
      fs.mkdirSync(level);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      if (code === 'EEXIST' && isDirectory(level)) continue;
      const at = level === target ? '' : ` at '${displayName(level, 400)}'`;
      throw new UserError(`${what} '${displayName(dir, 400)}' cannot be created${at} (${code}).`, { cause: error });
    }
  }
  if (!isDirectory(target)) throw new UserError(`${what} '${displayName(dir, 400)}' exists and is not a directory.`);
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
