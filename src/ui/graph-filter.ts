import { UserError } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import { selectNodes, splitSpec } from '../core/selector.js';

export type FilterResult = { readonly ok: true; readonly indices: readonly number[] } | { readonly ok: false; readonly error: string };

/** Presets the graph screen offers on keys 1..4, as spec-language text. */
export const FILTER_PRESETS: readonly { readonly key: string; readonly spec: string; readonly label: string }[] = [
  { key: '1', spec: '@hotspots', label: 'trouble spots' },
  { key: '2', spec: 'op:Conv|ConvTranspose|MatMul|Gemm', label: 'quantized ops' },
  { key: '3', spec: '@outputs', label: 'outputs' },
  { key: '4', spec: 'op:Concat|InstanceNormalization|ReduceMean|Resize', label: 'hotspot op types' },
];

function isPatternTerm(term: string): boolean {
  return (
    term.startsWith('@') || term.startsWith('op:') || term.startsWith('re:') || term === '*' || term.includes('*') || term.includes('?')
  );
}

/**
 * The node indices (topological order) that a filter shows. The filter is the tap spec language
 * of core/selector.ts (names, globs, `op:`, `re:`, presets, comma lists). For typing comfort a
 * plain word that names no node or tensor exactly matches as a case-insensitive substring of
 * node and tensor names, and an `op:` term that names no op type matches the op types it starts
 * (`op:Inst`). An empty filter shows everything; an invalid one returns its error.
 */
export function filterNodes(graph: Graph, text: string): FilterResult {
  if (text.trim() === '') return { ok: true, indices: graph.nodes.map((n) => n.index) };
  const chosen = new Set<number>();
  try {
    for (const term of splitSpec(text)) {
      const found = selectNodes(graph, term, { strict: false });
      if (found.length === 0 && term.startsWith('op:')) {
        // While `op:Inst` is being typed: op types starting with what is typed.
        const prefixes = term
          .slice(3)
          .split('|')
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean);
        for (const n of graph.nodes) if (prefixes.some((p) => n.opType.toLowerCase().startsWith(p))) chosen.add(n.index);
        continue;
      }
      if (found.length > 0 || isPatternTerm(term)) {
        for (const n of found) chosen.add(n.index);
        continue;
      }
      const lower = term.toLowerCase();
      for (const n of graph.nodes) {
        if (n.name.toLowerCase().includes(lower) || n.outputs.some((o) => o.toLowerCase().includes(lower))) chosen.add(n.index);
      }
    }
  } catch (error) {
    if (error instanceof UserError) return { ok: false, error: error.message };
    throw error;
  }
  return { ok: true, indices: [...chosen].sort((a, b) => a - b) };
}
