import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/cli.js';
import { compiledFiles, importCycles, importGraph, type ImportGraph } from './helpers/import-graph.js';

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

describe('the product and its tools', () => {
  const modules = importGraph(REPO, 'src');
  const product = new Set(compiledFiles(REPO, 'tsconfig.json'));
  const tools = [...modules.keys()].filter((f) => !product.has(f));

  it('tsconfig.json leaves the benchmark, the model generator and the fixture builders out of dist/', () => {
    expect(tools).toEqual(
      expect.arrayContaining(['src/bench/run.ts', 'src/scripts/generate-models.ts', 'src/models/catalog.ts', 'src/models/fixtures.ts']),
    );
    expect(tools.filter((f) => !/^src\/(bench|scripts)\/|^src\/models\/(catalog|fixtures)/.test(f))).toEqual([]);
    // The demo command builds the demo model when the package lacks it.
    expect(product).toContain('src/models/demo-generator.ts');
  });

  it('no module of the product imports a tool (it would be compiled into dist/ after all)', () => {
    const imports = [...product].flatMap((f) => (modules.get(f) ?? []).filter((d) => !product.has(d)).map((d) => `${f} → ${d}`));
    expect(imports).toEqual([]);
  });

  it('tsconfig.tools.json compiles all of src/, tools and product', () => {
    expect(compiledFiles(REPO, 'tsconfig.tools.json')).toEqual([...modules.keys()].sort());
  });
});
