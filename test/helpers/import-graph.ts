import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Module → the modules it imports, every path relative to one root (`src/cli/cli.ts`). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/**
 * The relative imports among the .ts/.tsx files under `dir`: static `import`/`export ... from`,
 * type-only ones too (a circle of types is still a circle of modules), and dynamic `import()`.
 * TypeScript's own pre-parser reads the specifiers, so comments and strings never count; a `.js`
 * specifier resolves to the `.ts` or `.tsx` source beside it, as NodeNext does.
 */
export function importGraph(root: string, dir: string): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(join(root, dir))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith('./') && !fileName.startsWith('../')) continue;
      const target = resolveSource(resolve(dirname(file), fileName));
      if (target !== undefined) deps.add(relative(root, target));
    }
    graph.set(relative(root, file), [...deps].sort());
  }
  return graph;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function resolveSource(path: string): string | undefined {
  const stem = path.replace(/\.(js|jsx|ts|tsx)$/, '');
  return [`${stem}.ts`, `${stem}.tsx`].find((p) => existsSync(p));
}

/**
 * The import circles of a graph, each as the path that closes it (`a → b → a`), found by a
 * depth-first search: every edge back to a module still on the stack closes one. At least one
 * circle is reported for every strongly connected part that has any; none means none.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The source files a tsconfig compiles as roots (its include less its exclude), relative to `root`. */
export function compiledFiles(root: string, tsconfig: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, tsconfig),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`${tsconfig} could not be read`);
  return parsed.fileNames.map((f) => relative(root, f)).sort();
}
