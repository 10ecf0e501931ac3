import { displayName } from '../core/closest.js';
import type { Graph, GraphNode } from '../core/graph.js';
import { fusionGroups, groupByNode } from './fusion.js';
import { defaultPrecision, type Plan } from './plan.js';
import { PRECISIONS, type Precision } from './profile.js';

/**
 * What every export of a plan to another toolchain shares (`quantscope export`): the targets, the
 * mapping table each prints, and the questions each asks of the graph. The targets' own rules live
 * in export-ort.ts, export-tensorrt.ts and export-rknn.ts; the files they are written to in
 * store/plan-export-*.ts.
 */

export type ExportTarget = 'ort-overrides' | 'tensorrt' | 'rknn';
export const EXPORT_TARGETS: readonly ExportTarget[] = ['ort-overrides', 'tensorrt', 'rknn'];

/** One row of an export's mapping: a quantscope precision, what the target gets for it, and why. */
export interface PrecisionMapping {
  readonly precision: Precision;
  /** The target's setting, in its own words (`QInt16 activations, QInt8 weights`, `fp16`, `float16`...). */
  readonly target: string;
  /** How many nodes of the plan are at this precision. */
  readonly nodes: number;
  /** Why, when the target cannot say the same thing. */
  readonly why?: string;
}

/** What every export returns besides its target-specific settings. */
export interface ExportCommon {
  readonly mapping: readonly PrecisionMapping[];
  /** What the export cannot express, and what the user must check: one sentence each. */
  readonly notes: readonly string[];
}

/** How many nodes of the plan are at each precision, in PRECISIONS order, zero counts dropped. */
export function precisionsInUse(plan: Plan): [Precision, number][] {
  const counts = new Map<Precision, number>();
  for (const p of plan.precision.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
  return PRECISIONS.filter((p) => counts.has(p)).map((p) => [p, counts.get(p) as number]);
}

/** The nodes whose planned precision differs from the profile's default: the plan's decisions. */
export function plannedNodes(graph: Graph, plan: Plan): GraphNode[] {
  return graph.nodes.filter((n) => plan.precision.get(n.name) !== defaultPrecision(plan.profile, n));
}

/**
 * Each node's kernel precision: a node in one of the profile's fusion groups (fusion.ts) runs at
 * the group's precision, which is the precision its stored output has in quantscope's emulation;
 * any other node at its own planned precision.
 */
export function kernelPrecisions(graph: Graph, plan: Plan): Map<string, Precision> {
  const groupOf = groupByNode(fusionGroups(graph, plan));
  const out = new Map<string, Precision>();
  for (const n of graph.nodes) out.set(n.name, groupOf.get(n.name)?.precision ?? plan.precision.get(n.name) ?? plan.profile.floatOps);
  return out;
}

/** Whether a tensor holds floats, as far as the graph declares; an undeclared tensor counts as float. */
export function isFloatValue(graph: Graph, tensor: string): boolean {
  const dtype = graph.values.get(tensor)?.dtype;
  return dtype === undefined || dtype === 'float32' || dtype === 'float16' || dtype === 'float64' || dtype === 'bfloat16';
}

/** A node's outputs that exist (an empty name marks an omitted optional output). */
export function outputsOf(node: GraphNode): string[] {
  return node.outputs.filter((o) => o !== '');
}

/** A list of names for a note: the first few quoted, then how many more. */
export function nameList(names: readonly string[], shown = 5): string {
  const head = names
    .slice(0, shown)
    .map((n) => `'${displayName(n, 60)}'`)
    .join(', ');
  return names.length > shown ? `${head} and ${names.length - shown} more` : head;
}

/** A mapping row as one line: `a16w8 (13 nodes) → QInt16 activations, QInt8 weights (why)`. */
export function mappingLine(row: PrecisionMapping): string {
  return `${row.precision} (${row.nodes} node${row.nodes === 1 ? '' : 's'}) → ${row.target}${row.why ? ` (${row.why})` : ''}`;
}

/** Where the plan and model came from, as the exported files record it. */
export interface ExportSource {
  readonly model: string;
  readonly plan: string;
  readonly profile: string;
}
