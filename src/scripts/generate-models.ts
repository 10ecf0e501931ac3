import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_MODELS, generatedBytes } from '../models/catalog.js';
import { createModel, writeModel } from '../onnx/index.js';

/**
 * Regenerates models/demo-generator.onnx and fixtures/<name>.onnx from their builders
 * (`npm run models`). With `--check`, writes nothing and sets exit code 1 when a committed file
 * differs from what the builders produce. The repository root is found from this file's place in
 * dist-tools/scripts/ (tsconfig.tools.json).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const check = process.argv.includes('--check');
let stale = 0;

for (const model of GENERATED_MODELS) {
  const file = path.join(root, model.file);
  if (check) {
    const fresh = generatedBytes(model);
    const same = existsSync(file) && Buffer.from(fresh).equals(readFileSync(file));
    if (!same) stale++;
    process.stdout.write(`${same ? 'ok   ' : 'STALE'} ${model.file}\n`);
    continue;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const built = createModel(model.build());
  writeModel(built, file);
  process.stdout.write(`wrote ${model.file}\n`);
}
if (stale > 0) {
  process.stdout.write(`${stale} generated model(s) differ from their builders; run \`npm run models\`.\n`);
  process.exitCode = 1;
}
