import sharp from 'sharp';
import { checkComparable } from '../analysis/metrics.js';
import { UserError } from '../core/errors.js';
import { formatDims, toFloat32, type Tensor } from '../core/tensor.js';
import { svgText, tickLabel, writePng, xmlText } from './report-svg.js';

export interface ImageComparisonOptions {
  /** The line above the panels (default "float vs quantized"). */
  readonly title?: string;
  /** Largest panel side in pixels (default 360); larger images are downscaled, tiny ones enlarged. */
  readonly maxSide?: number;
}

/** Image-like: (N, C, H, W) or (C, H, W) with C = 1 or 3 and H, W >= 1. */
export function isImageLike(dims: readonly number[]): boolean {
  const c = dims.length === 4 ? dims[1] : dims.length === 3 ? dims[0] : 0;
  const [h, w] = dims.slice(-2);
  return (dims.length === 4 ? dims[0] >= 1 : true) && (c === 1 || c === 3) && h >= 1 && w >= 1;
}

/** How reference values become 0..255: as they are, times 255, or the reference's min..max stretched. */
export interface ImageScale {
  readonly mode: 'as-is' | 'unit' | 'range';
  readonly min: number;
  readonly max: number;
  toByte(v: number): number;
}

/**
 * The display mapping, chosen from the reference's finite range: within 0..1 it is scaled by 255;
 * else within 0..255 (with a maximum above 1) it is shown as is; else min..max is stretched to
 * 0..255 (a constant image shows mid-grey). Test values use the same mapping, clamped.
 */
export function imageScale(min: number, max: number): ImageScale {
  const clamp = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  if (!(min <= max)) return { mode: 'range', min, max, toByte: () => 128 };
  if (min >= 0 && max <= 1) return { mode: 'unit', min, max, toByte: (v) => clamp(v * 255) };
  if (min >= 0 && max <= 255) return { mode: 'as-is', min, max, toByte: clamp };
  const span = max - min;
  return { mode: 'range', min, max, toByte: span > 0 ? (v) => clamp(((v - min) / span) * 255) : () => 128 };
}

/** Inferno-like colour map stops, dark (no error) to bright (largest error). */
const STOPS: readonly (readonly [number, number, number])[] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

export function heatColour(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isNaN(t) ? 1 : t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(u));
  const f = u - i;
  const a = STOPS[i];
  const b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

/** Small images are enlarged (nearest neighbour, by a whole factor) towards this many pixels so titles fit. */
const MIN_SIDE = 210;

const NON_FINITE: readonly [number, number, number] = [255, 0, 255];

interface Raw {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * Writes a PNG with the reference image, the test image and a heat map of |x − y| (mean over
 * channels) side by side, with titles and a colour bar, for the first item of an image-like batch.
 * A pixel with NaN/Inf in any channel is magenta. Panels are at most `maxSide` pixels (default 360) on their long side.
 */
export async function writeImageComparison(path: string, ref: Tensor, test: Tensor, options: ImageComparisonOptions = {}): Promise<void> {
  checkComparable(ref, test);
  if (!isImageLike(ref.dims)) {
    throw new UserError(`A tensor of shape ${formatDims(ref.dims)} is not image-like; the image comparison needs (N,3,H,W) or (N,1,H,W).`);
  }
  const dims = ref.dims.length === 4 ? ref.dims.slice(1) : ref.dims;
  const [channels, height, width] = dims;
  const plane = height * width;
  const count = channels * plane;
  const x = toFloat32(ref).subarray(0, count);
  const y = toFloat32(test).subarray(0, count);

  let min = Infinity;
  let max = -Infinity;
  for (const v of x)
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  const scale = imageScale(min, max);
  const errors = new Float64Array(plane);
  let emax = 0;
  let esum = 0;
  let finiteErrors = 0;
  for (let p = 0; p < plane; p++) {
    let e = 0;
    for (let c = 0; c < channels; c++) e += Math.abs(x[c * plane + p] - y[c * plane + p]);
    e /= channels;
    errors[p] = e;
    if (Number.isFinite(e)) {
      if (e > emax) emax = e;
      esum += e;
      finiteErrors++;
    }
  }

  const refImage = toRgb(x, channels, width, height, scale);
  const testImage = toRgb(y, channels, width, height, scale);
  const heat = Buffer.alloc(plane * 3);
  for (let p = 0; p < plane; p++) {
    const rgb = Number.isFinite(errors[p]) ? heatColour(emax > 0 ? errors[p] / emax : 0) : NON_FINITE;
    heat.set(rgb, p * 3);
  }

  const maxSide = options.maxSide ?? 360;
  const side = Math.max(width, height);
  const factor = side > maxSide ? maxSide / side : side < MIN_SIDE ? Math.max(1, Math.floor(MIN_SIDE / side)) : 1;
  const pw = Math.max(1, Math.round(width * factor));
  const ph = Math.max(1, Math.round(height * factor));
  const kernel = factor >= 1 ? 'nearest' : 'lanczos3';
  const panels = await Promise.all([refImage, testImage, { data: heat, width, height }].map((raw) => resized(raw, pw, ph, kernel)));

  const margin = 24;
  const gap = 24;
  const top = 82;
  const barX = margin + 3 * pw + 2 * gap + 16;
  const barWidth = 18;
  const canvasWidth = barX + barWidth + 84;
  const canvasHeight = top + ph + 58;
  const bar = colourBar(barWidth, ph);

  const titles = ['float (reference)', 'quantized (test)', '|error| (channel mean)'];
  const texts: string[] = [
    svgText(margin, 32, xmlText(options.title ?? 'float vs quantized', 100), { size: 18, weight: 'bold' }),
    ...titles.map((t, i) =>
      svgText(margin + i * (pw + gap) + pw / 2, top - 12, xmlText(t), { size: 13, anchor: 'middle', weight: 'bold' }),
    ),
    ...[1, 0.5, 0].map((f) =>
      svgText(barX + barWidth + 6, top + (1 - f) * (ph - 1) + 4, xmlText(tickLabel(Number((emax * f).toPrecision(3)))), { size: 12 }),
    ),
    svgText(barX + barWidth / 2, top - 12, '|e|', { size: 12, anchor: 'middle' }),
  ];
  const shown = scale.mode === 'as-is' ? 'shown as 0..255' : scale.mode === 'unit' ? 'shown x255' : 'stretched to 0..255';
  const rangeText =
    `reference range [${tickLabel(Number(min.toPrecision(4)))}, ${tickLabel(Number(max.toPrecision(4)))}] ${shown}; ` +
    `${formatDims(ref.dims)}${ref.dims.length === 4 && ref.dims[0] > 1 ? ', first item' : ''}; ` +
    `max |e| ${tickLabel(Number(emax.toPrecision(4)))}, mean |e| ${tickLabel(Number((finiteErrors ? esum / finiteErrors : 0).toPrecision(4)))}`;
  texts.push(svgText(margin, canvasHeight - 20, xmlText(rangeText, 200), { size: 12, fill: '#555' }));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${canvasWidth}" height="${canvasHeight}">${texts.join('')}</svg>`;

  const image = sharp({ create: { width: canvasWidth, height: canvasHeight, channels: 3, background: '#ffffff' } }).composite([
    ...panels.map((input, i) => ({ input, left: margin + i * (pw + gap), top })),
    { input: bar.data, raw: { width: bar.width, height: bar.height, channels: 3 as const }, left: barX, top },
    { input: Buffer.from(svg), left: 0, top: 0 },
  ]);
  await writePng(path, image);
}

function toRgb(values: Float32Array, channels: number, width: number, height: number, scale: ImageScale): Raw {
  const plane = width * height;
  const data = Buffer.alloc(plane * 3);
  for (let p = 0; p < plane; p++) {
    let finite = true;
    for (let c = 0; c < channels; c++) if (!Number.isFinite(values[c * plane + p])) finite = false;
    for (let k = 0; k < 3; k++) data[p * 3 + k] = finite ? scale.toByte(values[(channels === 3 ? k : 0) * plane + p]) : NON_FINITE[k];
  }
  return { data, width, height };
}

async function resized(raw: Raw, width: number, height: number, kernel: 'nearest' | 'lanczos3'): Promise<Buffer> {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel })
    .png()
    .toBuffer();
}

function colourBar(width: number, height: number): Raw {
  const data = Buffer.alloc(width * height * 3);
  for (let r = 0; r < height; r++) {
    const rgb = heatColour(height > 1 ? 1 - r / (height - 1) : 1);
    for (let c = 0; c < width; c++) data.set(rgb, (r * width + c) * 3);
  }
  return { data, width, height };
}
