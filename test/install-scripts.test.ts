// The install is quiet and needs only the npm registry: every installed package with an install
// script is reviewed in package.json's allowScripts, and no .npmrc key that npm does not know is
// left to warn on every npm command.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const lifecycle = ['preinstall', 'install', 'postinstall'];

function packageDirs(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const dirs: string[] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const dir = join(modules, entry);
    if (entry.startsWith('@')) {
      for (const sub of readdirSync(dir)) dirs.push(join(dir, sub));
    } else {
      dirs.push(dir);
    }
    dirs.push(...packageDirs(join(dir, 'node_modules')));
  }
  return dirs;
}

describe('a quiet install', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };

  it('reviews every dependency install script in allowScripts', () => {
    const withScripts = new Set<string>();
    for (const dir of packageDirs(join(root, 'node_modules'))) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        scripts?: Record<string, string>;
      };
      if (pkg.name && lifecycle.some((s) => pkg.scripts?.[s] !== undefined)) withScripts.add(pkg.name);
    }
    expect(withScripts.size).toBeGreaterThan(0);
    const reviewed = Object.keys(manifest.allowScripts ?? {});
    expect([...withScripts].filter((name) => !reviewed.includes(name))).toEqual([]);
  });

  it("denies onnxruntime-node's script, which would only fetch GPU extras from outside the registry", () => {
    expect(manifest.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it('keeps no project .npmrc key that npm warns about', () => {
    const npmrc = join(root, '.npmrc');
    const text = existsSync(npmrc) ? readFileSync(npmrc, 'utf8') : '';
    expect(text).not.toMatch(/onnxruntime-node-install/);
  });
});
