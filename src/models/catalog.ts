import { createModel, serializeModel, type ModelSpec, type OnnxModel } from '../onnx/index.js';
import { buildDemoGenerator, DEMO_MODEL_NAME } from './demo-generator.js';
import { FIXTURES } from './fixtures.js';

/** A model the project generates and commits: where it lives and how to rebuild it. */
export interface GeneratedModel {
  readonly name: string;
  /** Path relative to the repository root. */
  readonly file: string;
  readonly build: () => ModelSpec;
}

export const DEMO_MODEL_FILE = `models/${DEMO_MODEL_NAME}.onnx`;

/** Every generated model: the demo first, then the fixtures. */
export const GENERATED_MODELS: readonly GeneratedModel[] = [
  { name: DEMO_MODEL_NAME, file: DEMO_MODEL_FILE, build: buildDemoGenerator },
  ...FIXTURES.map((f) => ({ name: f.name, file: f.file, build: f.build })),
];

/** The demo model, built in memory (the same bytes as the committed file). */
export function demoModel(): OnnxModel {
  return createModel(buildDemoGenerator());
}

/** The serialized bytes of a generated model; identical on every run. */
export function generatedBytes(model: GeneratedModel): Uint8Array {
  return serializeModel(createModel(model.build()));
}
