import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';
import { importCycles, importGraph, type ImportGraph } from './helpers/import-graph.js';

const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('importCycles', () => {
  it.each([
    ['no imports', { a: [] }, []],
    ['a chain', { a: ['b'], b: ['c'], c: [] }, []],
    ['a diamond', { a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }, []],
    ['a module importing itself', { a: ['a'] }, [['a', 'a']]],
    ['two modules importing each other', { a: ['b'], b: ['a'] }, [['a', 'b', 'a']]],
    ['a circle of three below a root', { r: ['a'], a: ['b'], b: ['c'], c: ['a'] }, [['a', 'b', 'c', 'a']]],
    ['an import of a module outside the graph', { a: ['elsewhere'] }, []],
  ])('%s', (_name, edges, expected) => {
    expect(importCycles(graph(edges))).toEqual(expected);
  });
});

describe('the modules of src/', () => {
  const modules = importGraph(REPO, 'src');

  it('are read with their relative imports, dynamic ones included', () => {
    expect(modules.get('src/cli/main.ts')).toContain('src/cli/cli.ts');
    expect(modules.get('src/cli/cli.ts')).toContain('src/cli/commands/compare.ts');
    expect(modules.get('src/quant/qdq-node.ts')).toContain('src/quant/qdq-input.ts');
  });

  it('import one another without a circle', () => {
    expect(importCycles(modules).map((c) => c.join(' → '))).toEqual([]);
  });
});
