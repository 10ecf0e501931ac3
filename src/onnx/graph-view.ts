import { UserError } from '../core/errors.js';
import { buildGraph, type AttrValue, type Graph, type GraphNode, type InitializerInfo } from '../core/graph.js';
import { displayName } from '../core/closest.js';
import { attributeFromProto } from './attributes.js';
import { int64ToSafeNumber } from './int64.js';
import { orderNodes } from './node-order.js';
import type { GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto } from './proto-types.js';
import { tensorDims, tensorDType, tensorLabel } from './tensor-proto.js';
import { valueInfoFromProto } from './value-info.js';

/**
 * The core Graph view of a model's main graph. The default domain is '' in the view whether the
 * file says '' or 'ai.onnx'. Initializers include sparse initializers (named by their values
 * tensor). Nodes are passed to the core builder already in dependency order (see node-order.ts), so
 * outer-scope reads of If/Loop bodies are respected.
 */

export function normalizeDomain(domain: string | undefined): string {
  return domain === undefined || domain === 'ai.onnx' ? '' : domain;
}

export function opsetsOf(opsets: readonly OperatorSetIdProto[] | undefined, source?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of opsets ?? []) {
    const domain = normalizeDomain(o.domain);
    const what = `The opset version of domain '${domain || 'ai.onnx'}'${source ? ` in '${displayName(source)}'` : ''}`;
    out.set(domain, int64ToSafeNumber(o.version, what));
  }
  return out;
}

function nodeView(node: NodeProto, baseDir: string | undefined, source: string | undefined): Omit<GraphNode, 'index'> {
  const name = node.name ?? '';
  const attributes = new Map<string, AttrValue>();
  for (const a of node.attribute ?? []) {
    const attrName = a.name ?? '';
    const what = `attribute '${displayName(attrName)}' of node '${displayName(name)}'${source ? ` in '${displayName(source)}'` : ''}`;
    attributes.set(attrName, attributeFromProto(a, { baseDir, what }));
  }
  return {
    name,
    opType: node.op_type ?? '',
    domain: normalizeDomain(node.domain),
    inputs: [...(node.input ?? [])],
    outputs: [...(node.output ?? [])],
    attributes,
  };
}

export function sparseInitializerInfo(s: SparseTensorProto, source: string | undefined): InitializerInfo {
  const values = s.values ?? {};
  const what = tensorLabel(values.name, source);
  return {
    name: values.name ?? '',
    dtype: tensorDType(values, what),
    dims: (s.dims ?? []).map((d, i) => int64ToSafeNumber(d, `Dimension ${i} of sparse tensor ${what}`)),
  };
}

export function initializerInfos(graph: GraphProto, source: string | undefined): InitializerInfo[] {
  const out: InitializerInfo[] = [];
  for (const t of graph.initializer ?? []) {
    const what = tensorLabel(t.name, source);
    out.push({ name: t.name ?? '', dtype: tensorDType(t, what), dims: tensorDims(t, what) });
  }
  for (const s of graph.sparse_initializer ?? []) out.push(sparseInitializerInfo(s, source));
  return out;
}

export function buildGraphView(model: ModelProto, baseDir: string | undefined, source: string | undefined): Graph {
  const graph = model.graph;
  if (!graph) throw new UserError(`Model${source ? ` '${displayName(source)}'` : ''} has no graph.`);
  const nodes = orderNodes(graph.node ?? []).map((n) => nodeView(n, baseDir, source));
  return buildGraph({
    name: graph.name ?? '',
    nodes,
    inputs: (graph.input ?? []).map(valueInfoFromProto),
    outputs: (graph.output ?? []).map(valueInfoFromProto),
    initializers: initializerInfos(graph, source),
    valueInfo: (graph.value_info ?? []).map(valueInfoFromProto),
    opsets: opsetsOf(model.opset_import, source),
  });
}
