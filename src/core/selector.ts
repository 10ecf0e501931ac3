import { closestNames, displayName } from './closest.js';
import { UserError } from './errors.js';
import { ancestors, stringAttr, type Graph, type GraphNode } from './graph.js';

/**
 * The selection language shared by taps, plans and the TUI filter. A spec is a comma-separated
 * list of terms; a node or tensor is selected when any term matches it.
 *
 * | term | selects |
 * |---|---|
 * | `@all` | every node |
 * | `@outputs` | the nodes producing graph outputs |
 * | `@hotspots` | Concat, InstanceNormalization, the Add that ends a decomposed instance norm, ReduceMean, nearest-mode Resize/Upsample |
 * | `op:Type` or `op:A|B` | nodes of those op types |
 * | `re:<regex>` | nodes whose name, or one of whose output tensors' names, matches |
 * | a glob with `*` or `?` | the same, matched whole |
 * | `*` | every node |
 * | an exact name | the node of that name, or the node producing that tensor |
 */
export interface SelectOptions {
  /** Throw for an exact name that matches nothing (true by default). */
  readonly strict?: boolean;
}

export function splitSpec(spec: string | readonly string[]): string[] {
  const parts = typeof spec === 'string' ? [spec] : spec;
  const terms: string[] = [];
  for (const p of parts) {
    // A regex may contain commas; keep `re:` terms whole to the end of their part.
    const reAt = p.indexOf('re:');
    const head = reAt >= 0 && (reAt === 0 || p[reAt - 1] === ',') ? p.slice(0, reAt) : p;
    for (const t of head.split(',')) if (t.trim() !== '') terms.push(t.trim());
    if (head !== p) terms.push(p.slice(reAt));
  }
  return terms;
}

export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function isHotspot(graph: Graph, node: GraphNode): boolean {
  switch (node.opType) {
    case 'Concat':
    case 'InstanceNormalization':
    case 'ReduceMean':
      return true;
    case 'Resize':
    case 'Upsample':
      return stringAttr(node, 'mode', 'nearest') === 'nearest';
    case 'Add':
      return endsDecomposedInstanceNorm(graph, node);
    default:
      return false;
  }
}

/** An Add within a few steps of both a ReduceMean and a Sqrt/Reciprocal: the `+ beta` of x̂·γ + β. */
function endsDecomposedInstanceNorm(graph: Graph, node: GraphNode): boolean {
  const near = new Set<string>();
  let frontier = [node];
  for (let depth = 0; depth < 5 && frontier.length > 0; depth++) {
    const next: GraphNode[] = [];
    for (const n of frontier) {
      for (const t of n.inputs) {
        const p = graph.producer.get(t);
        if (p) {
          near.add(p.opType);
          next.push(p);
        }
      }
    }
    frontier = next;
  }
  return near.has('ReduceMean') && (near.has('Sqrt') || near.has('Reciprocal') || near.has('Pow'));
}

function termMatcher(graph: Graph, term: string): ((node: GraphNode) => boolean) | null {
  if (term === '@all' || term === '*') return () => true;
  if (term === '@outputs') {
    const outs = new Set(graph.outputs.map((o) => o.name));
    return (n) => n.outputs.some((o) => outs.has(o));
  }
  if (term === '@hotspots') return (n) => isHotspot(graph, n);
  if (term.startsWith('@')) {
    throw new UserError(`Unknown preset '${displayName(term)}'; the presets are @all, @outputs and @hotspots.`);
  }
  if (term.startsWith('op:')) {
    const types = new Set(
      term
        .slice(3)
        .split('|')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const known = new Set(graph.nodes.map((n) => n.opType));
    for (const t of types) {
      if (!known.has(t) && ![...known].some((k) => k.toLowerCase() === t.toLowerCase())) continue;
    }
    const lower = new Set([...types].map((t) => t.toLowerCase()));
    return (n) => lower.has(n.opType.toLowerCase());
  }
  if (term.startsWith('re:')) {
    let re: RegExp;
    try {
      re = new RegExp(term.slice(3));
    } catch (error) {
      throw new UserError(`The regular expression in '${displayName(term)}' is invalid (${(error as Error).message}).`);
    }
    return (n) => re.test(n.name) || n.outputs.some((o) => re.test(o));
  }
  if (term.includes('*') || term.includes('?')) {
    const re = globToRegExp(term);
    return (n) => re.test(n.name) || n.outputs.some((o) => re.test(o));
  }
  return null;
}

/** The nodes a spec selects, in topological order. Exact names that match nothing throw a UserError with suggestions. */
export function selectNodes(graph: Graph, spec: string | readonly string[], options: SelectOptions = {}): GraphNode[] {
  const strict = options.strict ?? true;
  const selected = new Set<number>();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const term of splitSpec(spec)) {
    const matcher = termMatcher(graph, term);
    if (matcher) {
      for (const n of graph.nodes) if (matcher(n)) selected.add(n.index);
      continue;
    }
    const node = byName.get(term) ?? graph.producer.get(term);
    if (node) {
      selected.add(node.index);
    } else if (strict) {
      throw unknownName(graph, term);
    }
  }
  return graph.nodes.filter((n) => selected.has(n.index));
}

/**
 * The tensors a spec selects, in topological order: the outputs of the selected nodes, and
 * exact tensor names. Graph inputs may be named exactly. Initializers are never tapped.
 */
export function selectTensors(graph: Graph, spec: string | readonly string[]): string[] {
  const tensors = new Set<string>();
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const terms = splitSpec(spec);
  if (terms.length === 0) {
    const shown = typeof spec === 'string' ? spec : spec.join(',');
    throw new UserError(
      `The selection '${displayName(shown)}' names nothing; give tensor or node names, patterns (op:Conv, re:..., conv*) or a preset (@all, @outputs, @hotspots).`,
    );
  }
  for (const term of terms) {
    if (term === 'op:' || term === 're:')
      throw new UserError(
        `The selection term '${term}' is empty; write ${term === 'op:' ? 'op:TYPE (for example op:Conv)' : 're:PATTERN'}.`,
      );
    const matcher = termMatcher(graph, term);
    if (matcher) {
      let hits = 0;
      for (const n of graph.nodes)
        if (matcher(n))
          for (const o of n.outputs)
            if (o !== '') {
              tensors.add(o);
              hits += 1;
            }
      // A pattern that matches nothing is a typo; a preset may rightly be empty (no hotspots).
      if (hits === 0 && !term.startsWith('@')) throw selectsNothing(graph, term);
      continue;
    }
    if (graph.producer.has(term) || inputs.has(term)) {
      tensors.add(term);
      continue;
    }
    const node = byName.get(term);
    if (node) {
      for (const o of node.outputs) if (o !== '') tensors.add(o);
      continue;
    }
    throw unknownName(graph, term);
  }
  const order: string[] = [...graph.inputs.map((i) => i.name).filter((n) => tensors.has(n))];
  for (const n of graph.nodes) for (const o of n.outputs) if (tensors.has(o)) order.push(o);
  return [...new Set(order)];
}

/** A pattern or preset that selects no tensor: one sentence, with the op types or names nearest to it. */
function selectsNothing(graph: Graph, term: string): UserError {
  if (term.startsWith('op:')) {
    const types = [...new Set(graph.nodes.map((n) => n.opType))];
    const near = closestNames(term.slice(3), types, 3).map((t) => `'op:${displayName(t)}'`);
    return new UserError(
      `The selection term '${displayName(term)}' matches no node${near.length ? `; the closest op types are ${near.join(', ')}` : ''}.`,
    );
  }
  const names = new Set<string>();
  for (const n of graph.nodes) {
    names.add(n.name);
    for (const o of n.outputs) if (o !== '') names.add(o);
  }
  const key = term.startsWith('re:') ? term.slice(3) : term.replace(/[*?]/g, '');
  const near = closestNames(key, names, 3).map((c) => `'${displayName(c)}'`);
  return new UserError(
    `The selection term '${displayName(term)}' matches no node or tensor${near.length ? `; the closest are ${near.join(', ')}` : ''}.`,
  );
}

export function unknownName(graph: Graph, term: string): UserError {
  const candidates = new Set<string>();
  for (const n of graph.nodes) {
    candidates.add(n.name);
    for (const o of n.outputs) if (o !== '') candidates.add(o);
  }
  for (const i of graph.inputs) candidates.add(i.name);
  const near = closestNames(term, candidates, 3).map((c) => `'${displayName(c)}'`);
  return new UserError(`No node or tensor is named '${displayName(term)}'${near.length ? `; the closest are ${near.join(', ')}` : ''}.`);
}

export { ancestors };
