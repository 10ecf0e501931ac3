import { createModel, serializeModel, type ModelSpec } from '../onnx/index.js';
import { buildDemoGenerator, DEMO_MODEL_FILE, DEMO_MODEL_NAME } from './demo-generator.js';
import { FIXTURES } from './fixtures.js';

/*
 * The catalog of generated models, for `npm run models` and the tests: a tool, not part of the
 * product (tsconfig.json leaves it out of dist/). The product's demo command needs only
 * demo-generator.ts.
 */

/** A model the project generates and commits: where it lives and how to rebuild it. */
export interface GeneratedModel {
  readonly name: string;
  /** Path relative to the repository root. */
  readonly file: string;
  readonly build: () => ModelSpec;
}

/** Every generated model: the demo first, then the fixtures. */
export const GENERATED_MODELS: readonly GeneratedModel[] = [
  { name: DEMO_MODEL_NAME, file: DEMO_MODEL_FILE, build: buildDemoGenerator },
  ...FIXTURES.map((f) => ({ name: f.name, file: f.file, build: f.build })),
];

/** The serialized bytes of a generated model; identical on every run. */
export function generatedBytes(model: GeneratedModel): Uint8Array {
  return serializeModel(createModel(model.build()));
}
