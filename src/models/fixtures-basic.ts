import type { ModelSpec } from '../onnx/index.js';
import { GraphBuilder } from './builder.js';

/**
 * Fixture models without planted faults: operator and opset coverage, fusion patterns, hostile
 * names and a large graph. Each is tiny (at most 16x16 spatial, a few channels) and deterministic.
 */

/** Conv, Relu, Add (residual), MaxPool, GlobalAveragePool, Flatten, Gemm: a small classifier. */
export function buildConvnet(opset: number): ModelSpec {
  const b = new GraphBuilder({ name: `opset${opset}-convnet`, opset, irVersion: opset >= 21 ? 10 : 7, seed: 100 + opset });
  const x = b.input('x', [1, 3, 16, 16]);
  const r1 = b.relu(b.conv(x, 8, 3, { pad: 1, name: 'conv1' }), { name: 'relu1' });
  const c2 = b.conv(r1, 8, 3, { pad: 1, name: 'conv2' });
  const r2 = b.relu(b.add(r1, c2, { name: 'add1' }), { name: 'relu2' });
  const p = b.maxPool(r2, 2, { name: 'pool1' });
  const r3 = b.relu(b.conv(p, 16, 3, { pad: 1, name: 'conv3' }), { name: 'relu3' });
  const g = b.flatten(b.globalAveragePool(r3, { name: 'gap' }), { name: 'flatten' });
  b.output(b.gemm(g, 10, { name: 'fc', out: 'logits' }));
  return b.build();
}

/**
 * IR version 3 at opset 7, with every initializer also listed as a graph input (as models
 * exported in 2018, udnie among them, do), InstanceNormalization and Upsample with a `scales`
 * attribute.
 */
export function buildOldIr(): ModelSpec {
  const b = new GraphBuilder({ name: 'opset7-old-ir', opset: 7, irVersion: 3, seed: 7, initializersAsInputs: true });
  const x = b.input('x', [1, 3, 16, 16]);
  let h = b.conv(x, 8, 3, { pad: 1, name: 'conv1' });
  h = b.relu(b.instanceNorm(h, { name: 'norm1' }), { name: 'relu1' });
  h = b.conv(h, 8, 3, { stride: 2, pad: 1, name: 'conv2' });
  h = b.relu(b.instanceNorm(h, { name: 'norm2' }), { name: 'relu2' });
  h = b.resizeNearest(h, 2, { name: 'upsample' });
  h = b.conv(h, 3, 3, { pad: 1, name: 'conv3' });
  b.output(b.add(h, x, { name: 'residual', out: 'y' }));
  return b.build();
}

/** input → Conv → InstanceNormalization → Relu → Conv → output: the fusion pattern in one piece. */
export function buildConvInRelu(): ModelSpec {
  const b = new GraphBuilder({ name: 'conv-in-relu', opset: 13, irVersion: 7, seed: 11 });
  const x = b.input('x', [1, 3, 16, 16]);
  let h = b.conv(x, 4, 3, { pad: 1, name: 'conv1' });
  h = b.instanceNorm(h, { name: 'norm1' });
  h = b.relu(h, { name: 'relu1' });
  b.output(b.conv(h, 3, 3, { pad: 1, name: 'conv2', out: 'y' }));
  return b.build();
}

/** Names chosen to break path handling, terminals and fixed-size buffers. */
export const HOSTILE_NAMES = {
  input: '../x',
  relu: '/abs',
  reluOut: 'a\\b',
  conv: 'nul\u0000node',
  convOut: '\u001b[31mred\u001b[0m',
  mul: '\u001b]0;title\u0007',
  mulOut: 'L'.repeat(10_000),
  add: '../../etc/passwd',
  output: '/abs/../out',
} as const;

/** A valid, runnable model whose nodes and tensors carry hostile names (see HOSTILE_NAMES). */
export function buildHostileNames(): ModelSpec {
  const n = HOSTILE_NAMES;
  const b = new GraphBuilder({ name: 'hostile-names', opset: 13, irVersion: 7, seed: 13 });
  const x = b.input(n.input, [1, 2, 4, 4]);
  const r = b.relu(x, { name: n.relu, out: n.reluOut });
  const c = b.conv(r, 2, 1, { name: n.conv, out: n.convOut });
  const m = b.mul(c, 0.5, { name: n.mul, out: n.mulOut });
  b.output(b.add(m, x, { name: n.add, out: n.output }));
  return b.build();
}

export const WIDE_BLOCKS = 250;

/**
 * About a thousand nodes: 250 blocks of Conv 1x1, residual Add, Tanh and Mul by 0.5 on a
 * [1,4,4,4] tensor, so activations stay bounded; for TUI and benchmark timing.
 */
export function buildWide1000(): ModelSpec {
  const b = new GraphBuilder({ name: 'wide-1000', opset: 13, irVersion: 7, seed: 1000 });
  let h = b.input('x', [1, 4, 4, 4]);
  const half = b.constant('half', [1], [0.5]);
  for (let i = 0; i < WIDE_BLOCKS; i++) {
    const id = `b${String(i).padStart(3, '0')}`;
    const c = b.conv(h, 4, 1, { name: `${id}_conv` });
    const a = b.add(c, h, { name: `${id}_add` });
    const t = b.tanh(a, { name: `${id}_tanh` });
    h = b.mul(t, half, { name: `${id}_scale`, ...(i === WIDE_BLOCKS - 1 ? { out: 'y' } : {}) });
  }
  b.output(h);
  return b.build();
}
