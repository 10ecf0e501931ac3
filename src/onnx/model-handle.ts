import { InternalError } from '../core/errors.js';
import type { Graph } from '../core/graph.js';
import type { ModelProto, SparseTensorProto, TensorProto } from './proto-types.js';

/**
 * An ONNX model as the rest of quantscope holds it: an opaque handle. Only src/onnx/ sees the
 * decoded proto inside; everything else goes through the functions of model.ts.
 */
export interface OnnxModel {
  /** The file the model was read from (or the name given to parseModel); kept through edits. */
  readonly source?: string;
  /** The directory external data paths are relative to. */
  readonly baseDir?: string;
}

/**
 * The handle's implementation. The proto is never mutated after construction: edits build a new
 * proto that shares unchanged messages with the old one, so a handle's caches stay valid.
 */
export class ModelHandle implements OnnxModel {
  graphCache: Graph | undefined;
  shaCache: string | undefined;
  initializerIndex: Map<string, { dense?: TensorProto; sparse?: SparseTensorProto }> | undefined;

  constructor(
    readonly proto: ModelProto,
    readonly baseDir: string | undefined,
    readonly source: string | undefined,
    /** The bytes the proto was decoded from (file or buffer); undefined for built and edited models. */
    readonly originalBytes: Uint8Array | undefined,
    /** Node names quantscope gave when reading: the file's node had no name, or repeated one (node-order.ts). */
    readonly assignedNames: ReadonlySet<string> = new Set(),
  ) {}
}

export function handleOf(model: OnnxModel): ModelHandle {
  if (!(model instanceof ModelHandle))
    throw new InternalError('an OnnxModel must come from readModel, parseModel, createModel or editModel');
  return model;
}
