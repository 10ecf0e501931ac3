import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds dist/ once, so tests that spawn the CLI run the current sources. */
export default function setup(): void {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.json')], {
    stdio: 'inherit',
  });
}
