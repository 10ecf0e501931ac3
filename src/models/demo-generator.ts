import { createModel, type ModelSpec, type OnnxModel } from '../onnx/index.js';
import { GraphBuilder } from './builder.js';
import { range, restrictInputs } from './weight-edits.js';

/**
 * The built-in demo model: a small two-input image generator (content and style images in, an
 * image out) with the structure of a style-transfer network and one planted INT8 hazard.
 *
 * ```
 * content [1,3,64,64] ─ −127.5 ─ enc_c_conv1 ─ Relu ─ enc_c_conv2 (s2) ─ IN ─ Relu ───────────┐
 * style   [1,3,64,64] ─ −127.5 ─ enc_s_conv1 ─ Relu ─ enc_s_conv2 (s2) ─ IN ─ Relu ─ style_gain ┴ branch_concat
 *                                           └─ style_mean (ReduceMean H,W) ─ style_stats_conv ─ Sigmoid ─┐
 * branch_concat ─ fuse_conv ─ IN ─ Relu ─ 2 × residual block (Conv IN Relu Conv IN Add) ─ modulate
 *   ─ upsample (nearest Resize ×2) ─ up_conv ─ IN ─ Relu ─ out_conv ─ Tanh ─ ×127.5 ─ +127.5 ─ image
 * ```
 *
 * The hazard: `style_gain` multiplies one style channel by OUTLIER_GAIN (a per-channel scale of
 * the kind folded normalisation layers leave behind), so that channel's activations are hundreds
 * of times larger than every other channel's. `branch_concat` joins it with the content
 * features, and `fuse_conv` quantizes the concatenation with one per-tensor activation scale:
 * at INT8 the step is larger than every content value, which all round to zero, and the
 * picture loses its content. The outlier channel feeds one output channel of `fuse_conv` only
 * (its weight is exactly zero elsewhere, so per-channel weight quantization is unaffected).
 * Running `fuse_conv` at INT16 restores the output.
 *
 * Nothing else is planted: the instance norms rescale every channel, so nothing downstream sees
 * the outlier, and the ReduceMean reads unscaled features, so its fp16 running sum stays far
 * below 65504. OUTLIER_GAIN is 400 rather than 1000 because at 1000 even INT16 leaves the content
 * channels only about 30 levels, and the fix would no longer reach cosine 0.999 on its own.
 */

export const DEMO_MODEL_NAME = 'demo-generator';
/** Where the demo model is committed, relative to the repository (and package) root. */
export const DEMO_MODEL_FILE = `models/${DEMO_MODEL_NAME}.onnx`;
export const DEMO_HAZARD_NODE = 'fuse_conv';
export const DEMO_CONCAT_NODE = 'branch_concat';
export const DEMO_INPUTS = ['content', 'style'] as const;
export const DEMO_OUTPUT = 'image';
/** How much larger the style encoder's outlier channel is than its other channels. */
export const OUTLIER_GAIN = 400;
const STYLE_CHANNELS = 8;
const CONTENT_CHANNELS = 16;
const OUTLIER_CHANNEL = 5;
const TRUNK = 16;
/** The fuse_conv output channel that reads the outlier channel. */
const OUTLIER_SINK = 0;

export const DEMO_DESCRIPTION =
  'A small two-input image generator built by quantscope itself: `content` and `style` images ' +
  '([1,3,64,64], values 0..255) pass through two convolutional encoders whose features are joined ' +
  'by a Concat (`branch_concat`), mixed by `fuse_conv`, refined by two instance-normalized residual ' +
  'blocks, modulated by a ReduceMean statistics branch of the style image, upsampled by a nearest ' +
  `Resize and turned into \`image\` (0..255) by a Tanh. Its weights are deterministic. The planted ` +
  `INT8 hazard: \`style_gain\` scales one style channel by ${OUTLIER_GAIN}, so the per-tensor INT8 ` +
  'scale of the concatenation read by `fuse_conv` is far coarser than every content value, which ' +
  'all round to zero; running `fuse_conv` at INT16 fixes the output.';

/** The demo model's spec. `outlierGain` 1 gives the same network without the hazard. */
export function buildDemoGenerator(options: { outlierGain?: number } = {}): ModelSpec {
  const outlierGain = options.outlierGain ?? OUTLIER_GAIN;
  const b = new GraphBuilder({ name: DEMO_MODEL_NAME, opset: 13, irVersion: 7, seed: 2024 });
  const content = b.input('content', [1, 3, 64, 64]);
  const style = b.input('style', [1, 3, 64, 64]);
  // Pixels are centred by a Sub (so a symmetric INT8 input scale uses both halves of its range)
  // and scaled to -1..1 by the first convolutions' weights.
  const fromPixels = (w: Float32Array): void => { for (let i = 0; i < w.length; i++) w[i] /= 127.5; };

  const cin = b.sub(content, 127.5, { name: 'content_center' });
  const sin = b.sub(style, 127.5, { name: 'style_center' });

  // Content encoder.
  let c = b.conv(cin, 8, 3, { pad: 1, name: 'enc_c_conv1', editWeights: fromPixels });
  c = b.relu(c, { name: 'enc_c_relu1' });
  c = b.conv(c, CONTENT_CHANNELS, 3, { stride: 2, pad: 1, name: 'enc_c_conv2' });
  c = b.instanceNorm(c, { name: 'enc_c_norm2' });
  c = b.relu(c, { name: 'enc_c_relu2' });

  // Style encoder, with the outlier channel.
  let s1 = b.conv(sin, 8, 3, { pad: 1, name: 'enc_s_conv1', editWeights: fromPixels });
  s1 = b.relu(s1, { name: 'enc_s_relu1' });
  let s = b.conv(s1, STYLE_CHANNELS, 3, { stride: 2, pad: 1, name: 'enc_s_conv2' });
  s = b.instanceNorm(s, { name: 'enc_s_norm2' });
  s = b.relu(s, { name: 'enc_s_relu2' });
  const gains = new Array<number>(STYLE_CHANNELS).fill(1);
  gains[OUTLIER_CHANNEL] = outlierGain;
  s = b.mul(s, b.constant('style_gain_scale', [1, STYLE_CHANNELS, 1, 1], gains), { name: 'style_gain' });

  // Style statistics: the per-channel mean of the first style features.
  let stats = b.reduceMean(s1, [2, 3], { name: 'style_mean' });
  stats = b.conv(stats, TRUNK, 1, { name: 'style_stats_conv' });
  stats = b.sigmoid(stats, { name: 'style_stats_gate' });

  // Fusion of the two branches: the planted hazard.
  const joined = b.concat([c, s], 1, { name: DEMO_CONCAT_NODE });
  const outlierColumn = CONTENT_CHANNELS + OUTLIER_CHANNEL;
  const otherColumns = range(0, CONTENT_CHANNELS + STYLE_CHANNELS).filter((i) => i !== outlierColumn);
  let x = b.conv(joined, TRUNK, 3, {
    pad: 1,
    name: DEMO_HAZARD_NODE,
    // The sink reads the outlier channel only (fuse_norm rescales it); no other channel reads it.
    editWeights: restrictInputs((o) => (o === OUTLIER_SINK ? [outlierColumn] : otherColumns)),
  });
  x = b.instanceNorm(x, { name: 'fuse_norm' });
  x = b.relu(x, { name: 'fuse_relu' });

  for (let r = 1; r <= 2; r++) {
    let y = b.conv(x, TRUNK, 3, { pad: 1, name: `res${r}_conv1` });
    y = b.instanceNorm(y, { name: `res${r}_norm1` });
    y = b.relu(y, { name: `res${r}_relu` });
    y = b.conv(y, TRUNK, 3, { pad: 1, name: `res${r}_conv2` });
    y = b.instanceNorm(y, { name: `res${r}_norm2` });
    x = b.add(x, y, { name: `res${r}_add` });
  }
  x = b.mul(x, stats, { name: 'modulate' });

  x = b.resizeNearest(x, 2, { name: 'upsample' });
  x = b.conv(x, TRUNK, 3, { pad: 1, name: 'up_conv' });
  x = b.instanceNorm(x, { name: 'up_norm' });
  x = b.relu(x, { name: 'up_relu' });
  x = b.conv(x, 3, 3, { pad: 1, name: 'out_conv' });
  x = b.tanh(x, { name: 'out_tanh' });
  x = b.mul(x, 127.5, { name: 'out_scale' });
  b.output(b.add(x, 127.5, { name: 'out_shift', out: DEMO_OUTPUT }));
  return b.build();
}

/** The demo model, built in memory (the same bytes as the committed file). */
export function demoModel(): OnnxModel {
  return createModel(buildDemoGenerator());
}
