import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import { bytesPerElement, lanes } from '../core/dtype.js';
import { allocate, elementCount, makeTensor, type Tensor } from '../core/tensor.js';
import { int64ToSafeNumber } from './int64.js';
import type { SparseTensorProto } from './proto-types.js';
import { decodeTensor, type TensorContext } from './tensor-proto.js';

/** The largest dense copy of a sparse tensor quantscope makes: 256 MiB. */
export const MAX_DENSE_BYTES = 256 * 1024 * 1024;

/**
 * A SparseTensorProto made dense: `values` is [NNZ]; `indices` is either [NNZ] linear indices or
 * [NNZ, rank] coordinates; every other element is zero (the empty string for strings).
 * Indices outside the shape are a UserError. The dense copy is the one allocation here that the
 * file's size does not bound (a few bytes can claim a shape of 10^12 zeros), so it is refused above
 * MAX_DENSE_BYTES, before anything is allocated.
 */
export function densifySparse(sparse: SparseTensorProto, ctx: TensorContext): Tensor {
  const what = ctx.what;
  const dims = (sparse.dims ?? []).map((d, i) => int64ToSafeNumber(d, `Dimension ${i} of sparse tensor ${what}`));
  if (!sparse.values || !sparse.indices) throw new UserError(`Sparse tensor ${what} lacks its values or indices.`);
  const values = decodeTensor(sparse.values, ctx);
  const indices = decodeTensor(sparse.indices, { ...ctx, what: `indices of ${what}` });
  const nnz = values.dims[0] ?? 0;
  const count = elementCount(dims);
  if (values.dims.length !== 1) throw new UserError(`Sparse tensor ${what} has values of rank ${values.dims.length}, not 1.`);
  // A dense copy of a huge sparse shape would be a huge allocation: refuse it up front.
  const denseBytes = count * lanes(values.dtype) * Math.max(1, bytesPerElement(values.dtype));
  if (denseBytes > MAX_DENSE_BYTES) {
    throw new UserError(
      `Sparse tensor ${what} of shape ${displayName(`[${dims.join(',')}]`, 200)} would take ${denseBytes} bytes when made dense, more than the ${MAX_DENSE_BYTES} bytes quantscope allows.`,
    );
  }
  const rank = indices.dims.length === 2 ? indices.dims[1] : 1;
  if (indices.dims[0] !== nnz || (indices.dims.length === 2 && rank !== dims.length) || indices.dims.length > 2) {
    throw new UserError(
      `Sparse tensor ${what} has indices of shape ${displayName(`[${indices.dims.join(',')}]`, 200)} for ${nnz} values of a rank-${dims.length} tensor.`,
    );
  }
  const idx = indices.data;
  const at = (k: number): number => Number(idx[k] as number | bigint);
  const data = allocate(values.dtype, count * lanes(values.dtype));
  const width = lanes(values.dtype);
  for (let k = 0; k < nnz; k++) {
    let linear = 0;
    if (indices.dims.length === 2) {
      for (let r = 0; r < rank; r++) {
        const c = at(k * rank + r);
        if (c < 0 || c >= dims[r]) throw new UserError(`Sparse tensor ${what} has index ${c} outside dimension ${r} of size ${dims[r]}.`);
        linear = linear * dims[r] + c;
      }
    } else {
      linear = at(k);
      if (linear < 0 || linear >= count)
        throw new UserError(`Sparse tensor ${what} has linear index ${linear} outside its ${count} elements.`);
    }
    for (let l = 0; l < width; l++)
      (data as unknown as unknown[])[linear * width + l] = (values.data as unknown as unknown[])[k * width + l];
  }
  return makeTensor(values.dtype, dims, data);
}
