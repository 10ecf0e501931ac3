import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { displayName } from '../core/closest.js';
import { messageOf, UserError } from '../core/errors.js';

/**
 * onnxruntime's profile (session option enableProfiling): a Chrome trace, a JSON array of events
 * `{ cat, name, dur, args }`. Every node run is a `cat: "Node"` event named `<node>_kernel_time`
 * whose `dur` is in microseconds and whose `args.op_name` is the op type; the file is
 * `<profileFilePrefix>_<date>.json`.
 */

export interface NodeTime {
  readonly node: string;
  readonly opType: string;
  /** Microseconds over every run profiled. */
  readonly totalUs: number;
  readonly calls: number;
}

/** The newest profile written under `prefix`, or a UserError when there is none. */
export function findOrtProfile(prefix: string): string {
  const dir = dirname(prefix);
  const stem = `${basename(prefix)}_`;
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(stem) && f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new UserError(`onnxruntime wrote no profile under '${displayName(prefix, 400)}'.`);
  return join(dir, files[files.length - 1]);
}

/** The kernel time of every node in a profile, most expensive first. */
export function readOrtProfile(file: string): NodeTime[] {
  let events: unknown;
  try {
    events = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`onnxruntime's profile '${displayName(file, 400)}' cannot be read as JSON (${messageOf(error)}).`, {
      cause: error,
    });
  }
  if (!Array.isArray(events)) throw new UserError(`onnxruntime's profile '${displayName(file, 400)}' is not a list of trace events.`);
  const byNode = new Map<string, { opType: string; totalUs: number; calls: number }>();
  for (const e of events as Record<string, unknown>[]) {
    if (typeof e !== 'object' || e === null || e.cat !== 'Node' || typeof e.name !== 'string' || !e.name.endsWith('_kernel_time')) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const args = (e.args ?? {}) as Record<string, unknown>;
    const entry = byNode.get(node) ?? { opType: typeof args.op_name === 'string' ? args.op_name : '', totalUs: 0, calls: 0 };
    entry.totalUs += typeof e.dur === 'number' ? e.dur : 0;
    entry.calls += 1;
    byNode.set(node, entry);
  }
  return [...byNode].map(([node, v]) => ({ node, ...v })).sort((a, b) => b.totalUs - a.totalUs);
}

/** A fresh temporary place for profiles: `prefix` to give onnxruntime, and `remove()` for the folder. */
export function temporaryProfilePrefix(): { prefix: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'quantscope-profile-'));
  return { prefix: join(dir, 'profile'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
