import type { Graph, GraphNode } from '../core/graph.js';
import type { Plan } from './plan.js';
import type { Precision } from './profile.js';

/**
 * Fusion groups: the op chains a device runs as one kernel (DESIGN.md §4). Inside a group the
 * inner tensors stay at accumulator precision (fp32, no Q/DQ, no fp16 rounding); only the group's
 * output is stored at the group's precision.
 */
export interface FusionGroup {
  /** Node names, in chain order (also topological order). At least two. */
  readonly nodes: readonly string[];
  /** Op types of the nodes: the profile pattern, or a piece of one after a split. */
  readonly opTypes: readonly string[];
  /** The last node's first output: the one tensor of the group that is stored. */
  readonly output: string;
  /** The tensors between consecutive nodes (nodes.length − 1 of them), never requantized. */
  readonly innerTensors: readonly string[];
  /** The group's storage precision: the plan's precision of the group's first node. */
  readonly precision: Precision;
}

/**
 * The fusion groups of a graph under a plan, in topological order of their first node.
 *
 * 1. Matching ignores taps. Nodes are visited in topological order; from each node not yet in a
 *    group, the profile's patterns starting with its op type are tried, longest first (profile
 *    order among equal lengths). A pattern [o1..ok] matches the chain n1..nk when every ni has
 *    op type oi in the default domain, no ni is already in a group, and for i < k ni has exactly
 *    one non-empty output, whose only consumer is n(i+1) (it may read it more than once). The
 *    first match claims its nodes (greedy, leftmost-longest).
 * 2. Splitting: an inner tensor that is tapped or is a graph output is a boundary (tapping makes
 *    a tensor a graph output, so both act alike). The chain is cut after it; pieces of two or
 *    more nodes remain groups, single nodes run alone.
 *
 * Matching before splitting means a tap changes the groups only at the tapped tensor, as dumping
 * does on a fused device: Conv→InstanceNormalization→Relu tapped after the Conv becomes Conv
 * alone plus the group InstanceNormalization→Relu, even if the profile lists no such pattern.
 * Nodes in no group are their own kernels.
 */
export function fusionGroups(graph: Graph, plan: Plan, taps: ReadonlySet<string> = new Set()): FusionGroup[] {
  const patterns = plan.profile.fusion
    .map((p, i) => ({ p, i }))
    .sort((a, b) => b.p.length - a.p.length || a.i - b.i)
    .map((x) => x.p);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const claimed = new Set<string>();
  const groups: FusionGroup[] = [];
  for (const node of graph.nodes) {
    if (claimed.has(node.name)) continue;
    for (const pattern of patterns) {
      const chain = matchChain(graph, node, pattern, claimed);
      if (!chain) continue;
      for (const n of chain) claimed.add(n.name);
      groups.push(...split(chain, plan, (t) => taps.has(t) || graphOutputs.has(t)));
      break;
    }
  }
  return groups;
}

function defaultDomain(node: GraphNode): boolean {
  return node.domain === '' || node.domain === 'ai.onnx';
}

function onlyOutput(node: GraphNode): string | null {
  const outs = node.outputs.filter((o) => o !== '');
  return outs.length === 1 ? outs[0] : null;
}

function matchChain(graph: Graph, start: GraphNode, pattern: readonly string[], claimed: ReadonlySet<string>): GraphNode[] | null {
  if (start.opType !== pattern[0] || !defaultDomain(start)) return null;
  const chain = [start];
  let current = start;
  for (let k = 1; k < pattern.length; k++) {
    const out = onlyOutput(current);
    if (out === null) return null;
    const consumers = graph.consumers.get(out) ?? [];
    if (consumers.length !== 1) return null;
    const next = consumers[0];
    if (next.opType !== pattern[k] || !defaultDomain(next) || claimed.has(next.name)) return null;
    chain.push(next);
    current = next;
  }
  return chain;
}

function split(chain: readonly GraphNode[], plan: Plan, isBoundary: (tensor: string) => boolean): FusionGroup[] {
  const groups: FusionGroup[] = [];
  let piece: GraphNode[] = [];
  const flush = (): void => {
    if (piece.length >= 2) {
      const last = piece[piece.length - 1];
      groups.push(
        Object.freeze({
          nodes: Object.freeze(piece.map((n) => n.name)),
          opTypes: Object.freeze(piece.map((n) => n.opType)),
          output: last.outputs.find((o) => o !== '') ?? '',
          innerTensors: Object.freeze(piece.slice(0, -1).map((n) => onlyOutput(n) as string)),
          precision: plan.precision.get(piece[0].name) ?? plan.profile.floatOps,
        }),
      );
    }
    piece = [];
  };
  chain.forEach((node, i) => {
    piece.push(node);
    if (i < chain.length - 1 && isBoundary(onlyOutput(node) as string)) flush();
  });
  flush();
  return groups;
}

/** Each grouped node's group, for looking up the region a node belongs to. */
export function groupByNode(groups: readonly FusionGroup[]): Map<string, FusionGroup> {
  const map = new Map<string, FusionGroup>();
  for (const g of groups) for (const n of g.nodes) map.set(n, g);
  return map;
}

/** The tensors that are inner to some group: the ones the quant backend does not requantize or round. */
export function innerTensorSet(groups: readonly FusionGroup[]): Set<string> {
  return new Set(groups.flatMap((g) => g.innerTensors));
}
