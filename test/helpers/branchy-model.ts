import type { GraphProto, ModelProto } from '../../src/onnx/proto-types.js';
import { encodeModelProto } from '../../src/onnx/schema.js';

/** The names of a branchy model's tensors, chosen by the test. */
export type BranchyNames = Readonly<Record<'x' | 'w' | 's' | 'r' | 'sp', string>>;

const float = (dims: number[]) => ({ tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } });

/** s = x + w; r = If(cond, Relu(s), Neg(s)), the branches reading `s` from the outer scope. */
function branchyGraph(n: BranchyNames): GraphProto {
  const branch = (name: string, op: string, out: string): GraphProto => ({
    name,
    node: [{ name: `${name}_op`, op_type: op, input: [n.s], output: [out] }],
    output: [{ name: out, type: float([2]) }],
  });
  return {
    name: 'branchy',
    node: [
      { name: 'add', op_type: 'Add', input: [n.x, n.w], output: [n.s] },
      {
        name: 'if',
        op_type: 'If',
        input: ['cond'],
        output: [n.r],
        attribute: [
          { name: 'then_branch', type: 5, g: branch('then', 'Relu', 't') },
          { name: 'else_branch', type: 5, g: branch('else', 'Neg', 'e') },
        ],
      },
    ],
    input: [
      { name: n.x, type: float([2]) },
      { name: 'cond', type: { tensor_type: { elem_type: 9, shape: { dim: [] } } } },
    ],
    output: [{ name: n.r, type: float([2]) }],
    value_info: [{ name: n.s, type: float([2]) }],
    initializer: [{ name: n.w, data_type: 1, dims: [2], float_data: [0.5, 0.5] }],
    sparse_initializer: [
      {
        values: { name: n.sp, data_type: 1, dims: [1], float_data: [3] },
        indices: { name: 'sp_i', data_type: 7, dims: [1], int64_data: [1] },
        dims: [2],
      },
    ],
    quantization_annotation: [{ tensor_name: n.s, quant_parameter_tensor_names: [{ key: 'SCALE_TENSOR', value: 'unrelated' }] }],
  };
}

/** The model around branchyGraph (opset 13), encoded; `sp` is an unused sparse initializer. */
export function branchyBytes(n: BranchyNames): Uint8Array {
  const proto: ModelProto = { ir_version: 8, opset_import: [{ domain: '', version: 13 }], producer_name: 'test', graph: branchyGraph(n) };
  return encodeModelProto(proto);
}
