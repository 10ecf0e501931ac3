import { makeTensor, type Tensor } from '../../src/core/tensor.js';
import { mulberry32 } from '../../src/models/random.js';
import { graphOf, type OnnxModel } from '../../src/onnx/index.js';

/** Deterministic feeds for every real input: uniform 0..255 like pixel values (symbolic dims as 1). */
export function pixelFeeds(model: OnnxModel, seed = 1): Map<string, Tensor> {
  const random = mulberry32(seed);
  const feeds = new Map<string, Tensor>();
  for (const input of graphOf(model).inputs) {
    const dims = (input.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = random() * 255;
    feeds.set(input.name, makeTensor('float32', dims, data));
  }
  return feeds;
}

/** Cosine similarity in float64; 1 when both are all zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 && bb === 0) return 1;
  return ab / Math.sqrt(aa * bb);
}
