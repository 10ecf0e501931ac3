import * as path from 'node:path';
import sharp from 'sharp';
import { displayName } from '../core/closest.js';
import { UserError, messageOf } from '../core/errors.js';
import { makeTensor, type Tensor } from '../core/tensor.js';

/**
 * Images as model inputs: decode (PNG, JPEG, and whatever else sharp reads), orient by EXIF,
 * drop alpha, resize, reorder channels and normalize into a float32 tensor of batch 1:
 *
 *   value[c] = (pixel[c] * scale - mean[c]) / std[c]        pixel in 0..255, c in output order
 *
 * so with BGR, mean and std are given in B, G, R order. Defaults: RGB, scale 1 (values 0..255),
 * mean 0, std 1, resize 'fill' (stretch to the size), layout NCHW. A model input with one channel
 * gets the grey image.
 */

export type Layout = 'NCHW' | 'NHWC';
export type ChannelOrder = 'RGB' | 'BGR';
export type ResizeMode = 'fill' | 'cover' | 'contain';

export interface Preprocess {
  /** [height, width]; default the model input's, else the image's own. */
  readonly size?: readonly [number, number];
  /** Default: inferred from the model input's shape (NHWC when only its last dim is 1 or 3), else NCHW. */
  readonly layout?: Layout;
  readonly channels: ChannelOrder;
  readonly scale: number;
  /** One value for every channel, or one per channel. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** fill: stretch; cover: scale to cover then crop the centre; contain: scale to fit, pad with black. */
  readonly resize: ResizeMode;
}

export const DEFAULT_PREPROCESS: Preprocess = Object.freeze({ channels: 'RGB', scale: 1, mean: [0], std: [1], resize: 'fill' });

const PRESETS: Record<string, Partial<Preprocess>> = {
  /** torchvision ImageNet normalization. */
  imagenet: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 'RGB' },
  /** Values in 0..1. */
  unit: { scale: 1 / 255 },
};

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif']);

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(file).toLowerCase());
}

/**
 * Parses a preprocessing spec such as
 * `size=720x720,layout=NCHW,order=BGR,scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,resize=cover`.
 * Keys: size (HxW or one number for a square), layout (NCHW|NHWC), order or channels (RGB|BGR),
 * scale (a number or a fraction a/b), mean and std (numbers separated by ':'), resize or fit
 * (fill|cover|contain). The presets `imagenet` and `unit` may appear as items; later items win.
 * `flag` names the option in errors.
 */
export function parsePreprocess(text: string, flag = '--preprocess'): Preprocess {
  const fail = (why: string): never => {
    throw new UserError(`Bad ${flag} value '${displayName(text, 200)}': ${why}.`);
  };
  const number = (key: string, s: string): number => {
    const parts = s.split('/');
    const n = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : parts.length === 1 && s.trim() !== '' ? Number(s) : Number.NaN;
    return Number.isFinite(n) ? n : fail(`${key} '${displayName(s, 40)}' is not a number`);
  };
  let out: Preprocess = { ...DEFAULT_PREPROCESS };
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      const preset = PRESETS[item.toLowerCase()];
      if (!preset) fail(`'${displayName(item, 40)}' is neither key=value nor a preset (${Object.keys(PRESETS).join(', ')})`);
      out = { ...out, ...preset };
      continue;
    }
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    switch (key) {
      case 'size': {
        const m = /^(\d+)(?:x(\d+))?$/i.exec(value);
        if (!m) fail(`size '${displayName(value, 40)}' is not HxW such as 224x224`);
        const h = Number(m![1]);
        const w = Number(m![2] ?? m![1]);
        if (h < 1 || w < 1) fail('size must be at least 1x1');
        out = { ...out, size: [h, w] };
        break;
      }
      case 'layout': {
        const v = value.toUpperCase();
        if (v !== 'NCHW' && v !== 'NHWC') fail(`layout '${displayName(value, 40)}' is not NCHW or NHWC`);
        out = { ...out, layout: v as Layout };
        break;
      }
      case 'order':
      case 'channels': {
        const v = value.toUpperCase();
        if (v !== 'RGB' && v !== 'BGR') fail(`${key} '${displayName(value, 40)}' is not RGB or BGR`);
        out = { ...out, channels: v as ChannelOrder };
        break;
      }
      case 'scale':
        out = { ...out, scale: number('scale', value) };
        break;
      case 'mean':
      case 'std': {
        const values = value.split(':').map((s) => number(key, s));
        if (values.length !== 1 && values.length !== 3) fail(`${key} needs 1 or 3 values separated by ':'`);
        if (key === 'std' && values.some((v) => v === 0)) fail('std must not be 0');
        out = { ...out, [key]: values };
        break;
      }
      case 'resize':
      case 'fit': {
        const v = value.toLowerCase();
        if (v !== 'fill' && v !== 'cover' && v !== 'contain') fail(`${key} '${displayName(value, 40)}' is not fill, cover or contain`);
        out = { ...out, resize: v as ResizeMode };
        break;
      }
      default:
        fail(`unknown key '${displayName(key, 40)}' (use size, layout, order, scale, mean, std, resize)`);
    }
  }
  return out;
}

export interface ImageTarget {
  /** [height, width] of the model input when known; `preprocess.size` wins over it. */
  readonly size?: readonly [number, number];
  /** 1 (grey) or 3; default 3. */
  readonly channels?: 1 | 3;
  /** Layout when the preprocessing spec leaves it open; default NCHW. */
  readonly layout?: Layout;
}

/** Decodes and preprocesses an image into a float32 tensor [1,C,H,W] or [1,H,W,C]. */
export async function readImage(file: string, preprocess: Preprocess = DEFAULT_PREPROCESS, target: ImageTarget = {}): Promise<Tensor> {
  const channels = target.channels ?? 3;
  const layout = preprocess.layout ?? target.layout ?? 'NCHW';
  for (const [key, values] of [
    ['mean', preprocess.mean],
    ['std', preprocess.std],
  ] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw new UserError(
        `The preprocessing ${key} has ${values.length} values but image '${displayName(file, 400)}' is read with ${channels} channel(s).`,
      );
    }
  }
  const size = preprocess.size ?? target.size;
  let pixels: Buffer;
  let width: number;
  let height: number;
  try {
    let img = sharp(file, { failOn: 'error' }).autoOrient();
    img = channels === 1 ? img.grayscale() : img.toColourspace('srgb');
    img = img.removeAlpha();
    if (size) img = img.resize(size[1], size[0], { fit: preprocess.resize, background: { r: 0, g: 0, b: 0 } });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    pixels = data;
    width = info.width;
    height = info.height;
  } catch (error) {
    throw new UserError(`Image '${displayName(file, 400)}' cannot be decoded (${messageOf(error)}).`, { cause: error });
  }
  return makeTensor(
    'float32',
    layout === 'NCHW' ? [1, channels, height, width] : [1, height, width, channels],
    normalize(pixels, width * height, channels, preprocess, layout),
  );
}

function normalize(pixels: Uint8Array, count: number, channels: number, pre: Preprocess, layout: Layout): Float32Array {
  const out = new Float32Array(count * channels);
  for (let c = 0; c < channels; c++) {
    // Output channel c reads source channel c, or 2 - c when BGR is asked of an RGB decode.
    const src = channels === 3 && pre.channels === 'BGR' ? 2 - c : c;
    const mean = pre.mean.length === 1 ? pre.mean[0] : pre.mean[c];
    const std = pre.std.length === 1 ? pre.std[0] : pre.std[c];
    for (let i = 0; i < count; i++) {
      const v = (pixels[i * channels + src] * pre.scale - mean) / std;
      out[layout === 'NCHW' ? c * count + i : i * channels + c] = v;
    }
  }
  return out;
}
