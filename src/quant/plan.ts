import { closestNames, displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { Graph, GraphNode } from '../core/graph.js';
import { selectNodes, splitSpec } from '../core/selector.js';
import { isQuantizedOp, isQuantPrecision, PRECISIONS, type Precision, type Profile } from './profile.js';

/**
 * A plan: the precision of every node (DESIGN.md §2). Each node starts at its default from the
 * profile (`int8` for a quantized op, the profile's `floatOps` for the rest); overrides are then
 * applied in order, so later ones win.
 *
 * Which node can take which precision:
 * - a quantized op (the profile lists its op type) can take any of `int8`, `int16`, `fp16`, `fp32`
 *   (a float precision leaves it unquantized and runs it in that float type);
 * - any other node can take `fp16` or `fp32` only. Its precision applies to its float tensors;
 *   nodes that compute no floats (Shape, integer Gather...) are unaffected by it.
 *
 * An override's spec uses the selection language of core/selector.ts (exact node or tensor name,
 * glob, `op:Type`, `re:<regex>`, `*`, presets, comma lists), read term by term:
 * - a pattern term applies to the nodes it matches that can take the precision (`"*": "int16"`
 *   promotes every quantized op and leaves a Relu alone); matching no such node is an error that
 *   lists the closest names;
 * - an exact name must name a node (or a tensor, meaning its producer) that can take the
 *   precision; anything else is an error.
 */
export interface Plan {
  readonly profile: Profile;
  /** Every node's precision, keyed by node name. */
  readonly precision: ReadonlyMap<string, Precision>;
  /** The overrides applied, in order, each spec once (a repeated spec keeps its last value and position). */
  readonly overrides: readonly (readonly [string, Precision])[];
}

export type Override = readonly [spec: string, precision: Precision];

/** Whether the profile quantizes the node (its op type is one of the profile's quantizedOps). */
export function isQuantizable(profile: Profile, node: GraphNode): boolean {
  return isQuantizedOp(profile, node);
}

/** `int8` for a quantized op, the profile's float precision otherwise. */
export function defaultPrecision(profile: Profile, node: GraphNode): Precision {
  return isQuantizable(profile, node) ? 'int8' : profile.floatOps;
}

/** The precisions the node can take under the profile (see Plan). */
export function allowedPrecisions(profile: Profile, node: GraphNode): readonly Precision[] {
  return isQuantizable(profile, node) ? PRECISIONS : ['fp16', 'fp32'];
}

export function isPrecision(value: unknown): value is Precision {
  return typeof value === 'string' && (PRECISIONS as readonly string[]).includes(value);
}

/** Whether the plan quantizes the node (int8, a16w8 or int16). */
export function isQuantizedIn(plan: Plan, node: GraphNode | string): boolean {
  return isQuantPrecision(plan.precision.get(typeof node === 'string' ? node : node.name));
}

/**
 * A term of the selection language that selects by pattern rather than by exact name. Mirrors the
 * term kinds of core/selector.ts (presets, `op:`, `re:`, globs, `*`).
 */
function isPatternTerm(term: string): boolean {
  return term.startsWith('@') || term.startsWith('op:') || term.startsWith('re:') || term.includes('*') || term.includes('?');
}

/** Keeps each spec once, at the position of its last occurrence: the same result as applying them all in order. */
export function normalizeOverrides(overrides: Iterable<Override>): Override[] {
  const last = new Map<string, number>();
  const list = [...overrides];
  list.forEach(([spec], i) => last.set(spec, i));
  return list.filter(([spec], i) => last.get(spec) === i).map(([s, p]) => [s, p] as const);
}

/**
 * The plan for a graph: defaults from the profile, then the overrides in order. Throws a
 * UserError for an unknown precision, an exact name that names nothing or a node that cannot
 * take the precision, and a pattern that matches no node that can take it.
 */
export function resolvePlan(graph: Graph, profile: Profile, overrides: Iterable<Override> = []): Plan {
  const precision = new Map<string, Precision>();
  for (const node of graph.nodes) precision.set(node.name, defaultPrecision(profile, node));
  const list = normalizeOverrides(overrides);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const [spec, value] of list) {
    if (!isPrecision(value)) {
      throw new UserError(
        `Plan override '${displayName(spec)}' has precision '${displayName(String(value))}'; it must be int8, int16, fp16 or fp32.`,
      );
    }
    const terms = splitSpec(spec);
    if (terms.length === 0) throw new UserError(`Plan override '${displayName(spec)}' selects nothing: its spec is empty.`);
    for (const term of terms) {
      for (const node of nodesFor(graph, profile, byName, spec, term, value)) precision.set(node.name, value);
    }
  }
  return Object.freeze({ profile, precision, overrides: Object.freeze(list) });
}

function nodesFor(
  graph: Graph,
  profile: Profile,
  byName: ReadonlyMap<string, GraphNode>,
  spec: string,
  term: string,
  value: Precision,
): GraphNode[] {
  const canTake = (n: GraphNode): boolean => allowedPrecisions(profile, n).includes(value);
  const where =
    spec === term ? `Plan override '${displayName(spec)}'` : `Plan override '${displayName(spec)}' (term '${displayName(term)}')`;
  if (!isPatternTerm(term)) {
    const node = byName.get(term) ?? graph.producer.get(term);
    if (!node) {
      const names = new Set<string>();
      for (const n of graph.nodes) {
        names.add(n.name);
        for (const o of n.outputs) if (o !== '') names.add(o);
      }
      throw new UserError(`${where}: no node or tensor is named '${displayName(term)}'${closestText(term, names)}.`);
    }
    if (!canTake(node)) {
      throw new UserError(
        `${where}: node '${displayName(node.name)}' (${node.opType}) is not a quantized op in profile '${profile.name}', so it can run at fp16 or fp32 but not ${value}.`,
      );
    }
    return [node];
  }
  const matched = selectNodes(graph, term, { strict: false });
  const taking = matched.filter(canTake);
  if (taking.length > 0) return taking;
  const eligible = graph.nodes.filter(canTake);
  const what = isQuantPrecision(value) ? `a quantized op (${profile.quantizedOps.join(', ') || 'none in this profile'})` : 'a node';
  const matchedText = matched.length > 0 ? `; it matches ${matched.length} node(s), none of them ${what}` : '';
  let near: string;
  if (term.startsWith('op:')) {
    const types = new Set(eligible.map((n) => n.opType));
    const close = closestNames(term.slice(3), types, 3);
    near = close.length ? `; the op types that can are ${close.map((c) => `'op:${c}'`).join(', ')}` : '';
  } else {
    const key = term.startsWith('re:') ? term.slice(3) : term.replace(/[*?]/g, '');
    near = closestText(
      key,
      eligible.map((n) => n.name),
    );
  }
  throw new UserError(`${where} matches no node that can run at ${value}${matchedText}${near}.`);
}

function closestText(name: string, candidates: Iterable<string>): string {
  const near = closestNames(name, candidates, 3).map((c) => `'${displayName(c)}'`);
  return near.length ? `; the closest are ${near.join(', ')}` : '';
}

/** The plan with more overrides appended (so they win over the existing ones). */
export function withOverrides(plan: Plan, graph: Graph, more: Iterable<Override>): Plan {
  return resolvePlan(graph, plan.profile, [...plan.overrides, ...more]);
}

/** What a plan file stores: the profile (built-in name or path) and the overrides in order. */
export interface PlanFile {
  readonly profile: string;
  readonly overrides: readonly Override[];
}

export function planToFile(plan: Plan): PlanFile {
  return { profile: plan.profile.source, overrides: plan.overrides };
}

/** How many nodes the plan puts at each precision. */
export function precisionCounts(plan: Plan): Record<Precision, number> {
  const counts: Record<Precision, number> = { int8: 0, a16w8: 0, int16: 0, fp16: 0, fp32: 0 };
  for (const p of plan.precision.values()) counts[p]++;
  return counts;
}

/** The precision a node is promoted to: int8 → int16 for quantized ops, fp16 → fp32; null when already there. */
export function promotionOf(plan: Plan, node: GraphNode): Precision | null {
  const p = plan.precision.get(node.name) ?? plan.profile.floatOps;
  if ((p === 'int8' || p === 'a16w8') && isQuantizable(plan.profile, node)) return 'int16';
  if (p === 'fp16') return 'fp32';
  return null;
}
