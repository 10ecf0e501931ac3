/** The ONNX layer: the only module that sees protobuf. Everything it returns is core data. */
export type { OnnxModel } from './model-handle.js';
export {
  parseModel,
  serializeModel,
  writeModel,
  graphOf,
  assignedNodeNames,
  modelInfo,
  initializerTensor,
  modelSha256,
  valueKind,
  type ValueKind,
} from './model.js';
export { createModel, defaultIrVersion, type ModelSpec, type NodeSpec } from './create.js';
export { editModel, type ModelEdit } from './edit.js';
export { prefixModel } from './prefix.js';
export { tensorFromProto, tensorToProto } from './tensor-proto.js';
export { convertOpset, opsetConversionBlockers, MAX_CONVERT_TARGET, MIN_CONVERT_SOURCE, type OpsetBlocker } from './opset-convert.js';
export { renameTensors, tensorNames } from './rename.js';
