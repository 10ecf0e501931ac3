import { existsSync, statSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import { graphOf, readModel, type OnnxModel } from '../onnx/index.js';

export interface LoadedModel {
  readonly path: string;
  readonly model: OnnxModel;
  readonly graph: Graph;
}

/** Reads a model file and its graph view; a missing path or a directory is a UserError naming it. */
export function loadModel(path: string): LoadedModel {
  if (!existsSync(path)) throw new UserError(`Model file '${path}' does not exist.`);
  if (statSync(path).isDirectory()) throw new UserError(`Model path '${path}' is a directory, not an ONNX file.`);
  const model = readModel(path);
  return { path, model, graph: graphOf(model) };
}
