import type { ModelSpec } from '../onnx/index.js';
import { GraphBuilder } from './builder.js';
import { range, restrictInputs, scaleOutputChannels } from './weight-edits.js';

/**
 * Fixture models with a planted fault at a known node, for bisect, own-error attribution and
 * fix tests. The faults are designed for the `generic-int8` profile (per-channel INT8 weights,
 * per-tensor INT8 activations, float ops in fp32) except `reducemean-overflow`, which needs fp16
 * float ops (`int8-fp16`). Where a consumer Conv reads a tensor whose channels differ in range,
 * its weights are block-structured (a zero weight is exact under every quantizer) so the float
 * output depends on the small channels and per-channel weight quantization stays harmless: the
 * only damage is the per-tensor activation scale.
 */

/** The factor by which the planted outlier channels or branches exceed the others. */
export const OUTLIER = 1000;

/**
 * `outlier_conv` makes channel 0 (of 4) a thousand times larger than channels 1-3 (its weights
 * and bias scaled); `planted_conv` quantizes all four with one INT8 scale, so channels 1-3
 * collapse to zero. Its output channel 0 reads channel 0 only (weights scaled back by 1/1000),
 * channels 1-3 read channels 1-3 only, so every output channel has the same size in float.
 */
export function buildOutlierChannel(): ModelSpec {
  const b = new GraphBuilder({ name: 'outlier-channel', opset: 13, irVersion: 7, seed: 21 });
  const x = b.input('x', [1, 3, 16, 16]);
  const h = b.conv(x, 4, 3, {
    pad: 1,
    name: 'outlier_conv',
    editWeights: scaleOutputChannels({ 0: OUTLIER }),
    editBias: scaleOutputChannels({ 0: OUTLIER }),
  });
  b.output(b.conv(h, 4, 3, {
    pad: 1,
    name: 'planted_conv',
    out: 'y',
    editWeights: restrictInputs((o) => (o === 0 ? [0] : [1, 2, 3]), (o) => (o === 0 ? 1 / OUTLIER : 1)),
  }));
  return b.build();
}

/**
 * `planted_mean` averages a [1,2,64,64] tensor whose values are 40 ± 1 over H and W. The mean
 * (about 40) is representable in fp16, but the running sum (about 40 × 4096 = 163,840) exceeds
 * fp16's largest finite value 65504, so a device that accumulates in fp16 gets +Inf. The mean is
 * subtracted from the tensor (`center`) and `post_conv` mixes the result into the output.
 * The input passes through Tanh(0.05·x) first, so any input scale gives values near 40.
 */
export function buildReduceMeanOverflow(): ModelSpec {
  const b = new GraphBuilder({ name: 'reducemean-overflow', opset: 13, irVersion: 7, seed: 31 });
  const x = b.input('x', [1, 2, 64, 64]);
  const t = b.tanh(b.mul(x, 0.05, { name: 'squash_scale' }), { name: 'squash' });
  const v = b.add(t, 40, { name: 'offset' });
  const mean = b.reduceMean(v, [2, 3], { name: 'planted_mean' });
  const centered = b.sub(v, mean, { name: 'center' });
  b.output(b.conv(centered, 2, 1, { name: 'post_conv', out: 'y' }));
  return b.build();
}

/**
 * Two branches of the same input, `branch_small` (values about 1) and `branch_large` (its
 * weights and bias scaled by 1000), joined by `planted_concat`; `concat_consumer` quantizes the
 * concatenation with one INT8 scale, so the small branch collapses to zero. The Concat itself is
 * exact; the first tensor that differs is `concat_consumer`'s output.
 */
export function buildConcatRanges(): ModelSpec {
  const b = new GraphBuilder({ name: 'concat-ranges', opset: 13, irVersion: 7, seed: 41 });
  const x = b.input('x', [1, 3, 16, 16]);
  const small = b.conv(x, 4, 3, { pad: 1, name: 'branch_small' });
  const large = b.conv(x, 4, 3, { pad: 1, name: 'branch_large', weightScale: OUTLIER });
  const joined = b.concat([small, large], 1, { name: 'planted_concat' });
  b.output(b.conv(joined, 8, 1, {
    name: 'concat_consumer',
    out: 'y',
    editWeights: restrictInputs((o) => (o < 4 ? range(0, 4) : range(4, 8)), (o) => (o < 4 ? 1 : 1 / OUTLIER)),
  }));
  return b.build();
}

/**
 * Error that appears, is masked, and reappears, so it is not monotone along topological order.
 * `pre_gain` scales input channel 2 by 1000; `planted_nonmono` (the true culprit) quantizes its
 * input with one INT8 scale, destroying channels 0 and 1, so its output channels 0-2 are wrong
 * while channel 3 (which reads only channel 2) is right. `nonmono_mask` multiplies channels 0-2
 * by zero, so it and the `hold_*` chain after it pass. `skip_add` adds `planted_nonmono`'s output
 * back (a skip connection) and the error reappears there and in `post_conv`. A binary search
 * over the order lands on `skip_add`; its input `planted_nonmono_out` fails too, which leads back
 * to the culprit.
 */
export function buildNonMonotone(): ModelSpec {
  const b = new GraphBuilder({ name: 'non-monotone', opset: 13, irVersion: 7, seed: 51 });
  const x = b.input('x', [1, 3, 16, 16]);
  const g = b.mul(x, b.constant('pre_gain_scale', [1, 3, 1, 1], [1, 1, OUTLIER]), { name: 'pre_gain' });
  const p = b.conv(g, 4, 3, {
    pad: 1,
    name: 'planted_nonmono',
    editWeights: restrictInputs((o) => (o < 3 ? [0, 1] : [2]), (o) => (o < 3 ? 1 : 1 / OUTLIER)),
  });
  let h = b.mul(p, b.constant('nonmono_mask_gate', [1, 4, 1, 1], [0, 0, 0, 1]), { name: 'nonmono_mask' });
  h = b.relu(b.conv(h, 4, 1, { name: 'hold_conv1' }), { name: 'hold_relu1' });
  // No ReLU after the last hold conv: a ReLU keeping a few small positive values of a channel
  // would fail an SNR gate on its own relative error, and the chain must pass.
  h = b.conv(h, 4, 1, { name: 'hold_conv2' });
  h = b.add(h, p, { name: 'skip_add' });
  b.output(b.conv(h, 3, 3, { pad: 1, name: 'post_conv', out: 'y' }));
  return b.build();
}

/**
 * A chain in which only `planted_source` has a large own error: `spike` (a float Mul) scales
 * channel 3 of its input by 1000, so the per-tensor INT8 scale of `planted_source` (a 1x1 Conv)
 * is set by that channel and channels 0-2 round to zero. Its output channel 3 reads channel 3
 * only, with weights scaled back by 1/1000, so its output has ordinary ranges: `conv_c` and
 * `conv_d` after it quantize well on float inputs and only pass the error on.
 */
export function buildPlantedSource(): ModelSpec {
  const b = new GraphBuilder({ name: 'planted-source', opset: 13, irVersion: 7, seed: 61 });
  const x = b.input('x', [1, 4, 16, 16]);
  let h = b.relu(b.conv(x, 4, 3, { pad: 1, name: 'conv_a' }), { name: 'relu_a' });
  h = b.mul(h, b.constant('spike_gain', [1, 4, 1, 1], [1, 1, 1, OUTLIER]), { name: 'spike' });
  h = b.conv(h, 4, 1, {
    name: 'planted_source',
    editWeights: restrictInputs((o) => (o < 3 ? [0, 1, 2] : [3]), (o) => (o < 3 ? 1 : 1 / OUTLIER)),
  });
  h = b.relu(h, { name: 'relu_b' });
  h = b.relu(b.conv(h, 4, 3, { pad: 1, name: 'conv_c' }), { name: 'relu_c' });
  b.output(b.conv(h, 3, 1, { name: 'conv_d', out: 'y' }));
  return b.build();
}

/**
 * `planted_bias_conv` has a bias of 900 on output channel 0 (the others are the drawn values)
 * while its input and weights are of order 1: at INT16 the accumulator scale s_x·s_w is so small
 * (about 1e-9) that 2^31·s_x·s_w is about 2, so an int32 bias at that scale cannot hold 900. A
 * backend that quantizes the bias to int32 at INT16 (as onnxruntime's QDQ fusion does with a float
 * bias) clips channel 0 and makes INT16 far worse than INT8; the bias must stay in the accumulator
 * at higher precision. `mix_conv` mixes the channels into the output after a Relu.
 */
export function buildLargeBias(): ModelSpec {
  const b = new GraphBuilder({ name: 'large-bias', opset: 13, irVersion: 7, seed: 41 });
  const x = b.input('x', [1, 3, 16, 16]);
  const h = b.conv(x, 4, 3, {
    pad: 1,
    name: 'planted_bias_conv',
    editBias: (bias) => { bias[0] = LARGE_BIAS; },
  });
  b.output(b.conv(b.relu(h, { name: 'bias_relu' }), 2, 1, { name: 'mix_conv', out: 'y' }));
  return b.build();
}

/** The bias of `planted_bias_conv`'s channel 0 in the large-bias fixture. */
export const LARGE_BIAS = 900;

/**
 * Two inputs, each through a Conv, joined by a Concat that one Conv reads. `style_conv` makes its
 * channel 0 a thousand times larger than its channels 1-3, so its own per-tensor INT8 storage
 * crushes 1-3; `fused_consumer` quantizes the whole concatenation per tensor, which crushes the
 * `content_conv` branch too. Its output channels read the small channels only (block-structured
 * weights), so both crushes show. Neither promotion alone is enough: the cheapest plan promotes
 * `style_conv` (its storage) and `fused_consumer` (its input), not `content_conv`.
 */
export function buildCoPromotion(): ModelSpec {
  const b = new GraphBuilder({ name: 'co-promotion', opset: 13, irVersion: 7, seed: 61 });
  const content = b.input('content', [1, 3, 16, 16]);
  const style = b.input('style', [1, 3, 16, 16]);
  const c = b.conv(content, 4, 3, { pad: 1, name: 'content_conv' });
  const s = b.conv(style, 4, 3, {
    pad: 1,
    name: 'style_conv',
    editWeights: scaleOutputChannels({ 0: OUTLIER }),
    editBias: scaleOutputChannels({ 0: OUTLIER }),
  });
  const joined = b.concat([c, s], 1, { name: 'branch_join' });
  // Output 0-3 read the content channels, 4-6 the small style channels; the outlier channel 4 of the join is read by none.
  b.output(b.conv(joined, 7, 1, {
    name: 'fused_consumer',
    out: 'y',
    editWeights: restrictInputs((o) => (o < 4 ? range(0, 4) : range(5, 8))),
  }));
  return b.build();
}
