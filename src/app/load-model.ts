import { UserError } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import { readModel } from '../store/model-file.js';
import { graphOf, type OnnxModel } from '../onnx/index.js';
import { pathKind } from '../store/files.js';

export interface LoadedModel {
  readonly path: string;
  readonly model: OnnxModel;
  readonly graph: Graph;
}

/** Reads a model file and its graph view; a missing path or a directory is a UserError naming it. */
export function loadModel(path: string): LoadedModel {
  const kind = pathKind(path);
  if (kind === 'missing') throw new UserError(`Model file '${path}' does not exist.`);
  if (kind === 'directory') throw new UserError(`Model path '${path}' is a directory, not an ONNX file.`);
  const model = readModel(path);
  return { path, model, graph: graphOf(model) };
}
