import { displayName } from '../core/closest.js';
import { activationInputs, type Graph, type GraphNode } from '../core/graph.js';
import { promotionCost, weightBytesPer, type Shapes } from './cost.js';
import { fusionGroups, groupByNode } from './fusion.js';
import { promotionOf, withOverrides, type Override, type Plan } from './plan.js';
import type { Precision } from './profile.js';

/**
 * The regions fix promotes, as pure rules over a graph and a plan: which nodes a culprit's
 * promotion takes (its kernel, or the kernels feeding it), the candidates scored for it, every
 * kernel for the sensitivity strategy, the ceiling (everything), and the plan a set of regions
 * gives. app/fix.ts runs the search with them.
 */

/** One precision change of a promotion. */
export interface PrecisionChange {
  readonly node: string;
  readonly opType: string;
  readonly from: Precision;
  readonly to: Precision;
}

/**
 * A region promoted as one: the nodes a device runs together, and why they were chosen.
 * `culprit` is the node bisect named (or, for the sensitivity strategy, the region's first node).
 */
export interface Region {
  readonly key: string;
  readonly culprit: string;
  /**
   * `culprit`: the culprit's kernel; `producers`: the kernels whose stored outputs feed it;
   * `consumer`: a kernel that reads the culprit; `sensitivity`: ranked; `ceiling`: everything
   * that can be promoted (the reachable value).
   */
  readonly reason: 'culprit' | 'producers' | 'consumer' | 'sensitivity' | 'ceiling';
  readonly changes: readonly PrecisionChange[];
}

function regionOf(culprit: string, reason: Region['reason'], changes: PrecisionChange[]): Region | null {
  if (changes.length === 0) return null;
  const unique = [...new Map(changes.map((c) => [c.node, c])).values()];
  // The key names the nodes, and the level where it is not the full promotion (a16w8), as JSON:
  // node names may hold any character, so no separator could keep two regions' keys apart.
  const parts = unique
    .map((c) => (c.to === 'a16w8' ? [c.node, 'a16w8'] : [c.node]))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a.length - b.length));
  return { key: JSON.stringify(parts), culprit, reason, changes: unique };
}

/**
 * The region one level cheaper (DESIGN.md §5, promotion levels): its int16 changes at a16w8 (16-bit
 * activations, 8-bit weights), when the profile's int16 keeps 16-bit weights (otherwise int16
 * already is a16w8). Null when nothing in it would change.
 */
export function cheaperRegion(plan: Plan, region: Region): Region | null {
  if (plan.profile.weights.int16Bits !== 16 || !region.changes.some((c) => c.to === 'int16' && c.from === 'int8')) return null;
  return regionOf(
    region.culprit,
    region.reason,
    region.changes.map((c) => (c.to === 'int16' && c.from === 'int8' ? { ...c, to: 'a16w8' } : c)),
  );
}

/**
 * The region to promote for a culprit node under the current plan. The rule:
 *
 * 1. The culprit's kernel: its fusion group under the plan (with no taps, as the device fuses it),
 *    or the node alone. Its quantized ops go int8 → int16 and its float ops fp16 → fp32. A float
 *    op fused behind a Conv (Conv→InstanceNormalization→Relu) thus promotes the Conv that sets
 *    its group's storage precision.
 * 2. When that changes nothing (the culprit is an fp32 float op such as a Concat or an
 *    InstanceNormalization of its own, or its kernel is already promoted and still fails), the
 *    error comes from the grids its inputs are stored on: walking up each activation input, the
 *    nearest kernels that can still be promoted (passing through fp32 float ops and kernels
 *    already promoted) form the region.
 *
 * Null when nothing upstream can be promoted any more.
 */
export function promotionRegion(graph: Graph, plan: Plan, culprit: GraphNode): Region | null {
  const groupOf = groupByNode(fusionGroups(graph, plan));
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const kernel = (node: GraphNode): GraphNode[] => (groupOf.get(node.name)?.nodes ?? [node.name]).map((n) => byName.get(n) as GraphNode);
  const changesOf = (nodes: readonly GraphNode[]): PrecisionChange[] =>
    nodes.flatMap((n) => {
      const to = promotionOf(plan, n);
      return to ? [{ node: n.name, opType: n.opType, from: plan.precision.get(n.name) ?? plan.profile.floatOps, to }] : [];
    });
  const own = kernel(culprit);
  const direct = regionOf(culprit.name, 'culprit', changesOf(own));
  if (direct) return direct;

  // Breadth-first over kernels, one level at a time; the first level holding kernels that can
  // be promoted is the region (the nearest ones only, however many paths lead further up).
  const visited = new Set(own.map((n) => n.name));
  const inputsOf = (members: readonly GraphNode[]): GraphNode[] =>
    members
      .flatMap((m) => activationInputs(graph, m))
      .flatMap((t) => {
        const p = graph.producer.get(t);
        return p && !visited.has(p.name) ? [p] : [];
      });
  let level = inputsOf(own);
  while (level.length > 0) {
    const changes: PrecisionChange[] = [];
    const next: GraphNode[] = [];
    for (const producer of level) {
      if (visited.has(producer.name)) continue;
      const members = kernel(producer);
      for (const m of members) visited.add(m.name);
      const found = changesOf(members);
      if (found.length > 0) changes.push(...found);
      else next.push(...members);
    }
    if (changes.length > 0) return regionOf(culprit.name, 'producers', changes);
    level = inputsOf(next);
  }
  return null;
}

/**
 * The candidates fix scores for a culprit (DESIGN.md §5): the region promotionRegion names, split
 * into its kernels when it spans several (upstream producers of an fp32 op are often needed one
 * at a time, not all), the whole region, and the kernels that read the culprit's outputs (an
 * outlier that passes a Concat is harmless until the next per-tensor quantization, so the
 * consumer is often the node to promote). Single kernels come first, so a tie goes to the
 * cheaper plan.
 */
export function candidateRegions(graph: Graph, plan: Plan, culprit: GraphNode, shapes: Shapes = new Map()): Region[] {
  const region = promotionRegion(graph, plan, culprit);
  const groupOf = groupByNode(fusionGroups(graph, plan));
  const kernelKey = (node: string): string => groupOf.get(node)?.nodes[0] ?? node;
  const out: Region[] = [];
  if (region) {
    const byKernel = new Map<string, PrecisionChange[]>();
    for (const c of region.changes) byKernel.set(kernelKey(c.node), [...(byKernel.get(kernelKey(c.node)) ?? []), c]);
    if (byKernel.size > 1) for (const changes of byKernel.values()) out.push(regionOf(culprit.name, region.reason, changes) as Region);
  }
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  for (const t of culprit.outputs) {
    for (const consumer of graph.consumers.get(t) ?? []) {
      const members = (groupOf.get(consumer.name)?.nodes ?? [consumer.name]).map((n) => byName.get(n) as GraphNode);
      const key = kernelKey(consumer.name);
      if (seen.has(key) || members.some((m) => m.name === culprit.name)) continue;
      seen.add(key);
      const changes = members.flatMap((n) => {
        const to = promotionOf(plan, n);
        return to ? [{ node: n.name, opType: n.opType, from: plan.precision.get(n.name) ?? plan.profile.floatOps, to }] : [];
      });
      const r = regionOf(culprit.name, 'consumer', changes);
      if (r) out.push(r);
    }
  }
  if (region) out.push(region);
  // Each at the cheaper level too (a16w8 before int16).
  const levels = out.flatMap((r) => {
    const cheaper = cheaperRegion(plan, r);
    return cheaper ? [cheaper, r] : [r];
  });
  // Cheapest first (MACs the promotion moves above INT8, or with a profile cost table the device
  // cost it adds; then weight bytes), so the search takes the cheapest that suffices.
  const macs = (r: Region): number => promotionCost(graph, plan, r.changes, shapes);
  const bytes = (r: Region): number => r.changes.reduce((n, c) => n + weightBytesPer(plan, c.to), 0);
  return levels
    .map((r, i) => ({ r, i, cost: macs(r), bytes: bytes(r) }))
    .sort((a, b) => a.cost - b.cost || a.bytes - b.bytes || a.i - b.i)
    .map((x) => x.r);
}

/** Every region the sensitivity strategy ranks: each kernel with something to promote, in order. */
export function sensitivityRegions(graph: Graph, plan: Plan): Region[] {
  const groupOf = groupByNode(fusionGroups(graph, plan));
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const seen = new Set<string>();
  const regions: Region[] = [];
  for (const node of graph.nodes) {
    if (seen.has(node.name)) continue;
    const members = (groupOf.get(node.name)?.nodes ?? [node.name]).map((n) => byName.get(n) as GraphNode);
    for (const m of members) seen.add(m.name);
    const changes = members.flatMap((n) => {
      const to = promotionOf(plan, n);
      return to ? [{ node: n.name, opType: n.opType, from: plan.precision.get(n.name) ?? plan.profile.floatOps, to }] : [];
    });
    const region = regionOf(members[0].name, 'sensitivity', changes);
    if (region) regions.push(region);
  }
  return regions;
}

/** One region promoting every node as far as it goes (quantized ops INT16, float ops FP32): what fix can reach at best. */
export function ceilingRegion(graph: Graph, plan: Plan): Region | null {
  const changes = graph.nodes.flatMap((n) => {
    const to = promotionOf(plan, n);
    return to ? [{ node: n.name, opType: n.opType, from: plan.precision.get(n.name) ?? plan.profile.floatOps, to }] : [];
  });
  return regionOf('*', 'ceiling', changes);
}

/** The plan with the regions' changes appended as overrides (by exact node name). */
export function planWith(graph: Graph, base: Plan, regions: readonly Region[]): Plan {
  const overrides: Override[] = regions.flatMap((r) => r.changes.map((c) => [c.node, c.to] as const));
  return overrides.length === 0 ? base : withOverrides(base, graph, overrides);
}

/** The region's nodes, for messages: `a+b`. */
export function regionLabel(region: Region): string {
  if (region.reason === 'ceiling') return 'everything';
  return region.changes.map((c) => displayName(c.node, 40)).join('+');
}
