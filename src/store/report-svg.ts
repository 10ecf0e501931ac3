import sharp, { type Sharp } from 'sharp';
import { displayName } from '../core/closest.js';
import { UserError, messageOf } from '../core/errors.js';
import { writeFileAtomicAsync } from '../core/atomic-file.js';

/** Small SVG building blocks for the report plots, and the one place that turns images into PNG files. */

export const FONT = 'DejaVu Sans';

/** Text safe inside SVG/XML: names escaped by displayName (no control characters, which XML forbids), then XML-escaped. */
export function xmlText(text: string, max = 120): string {
  return displayName(text, max).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface TextOptions {
  readonly size?: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly weight?: 'normal' | 'bold';
  readonly fill?: string;
  readonly rotate?: number;
  /** A white outline behind the glyphs, to keep the text readable over plotted points. */
  readonly halo?: boolean;
}

/** A <text> element; `content` must already be escaped (xmlText). */
export function svgText(x: number, y: number, content: string, o: TextOptions = {}): string {
  const rotate = o.rotate ? ` transform="rotate(${o.rotate} ${fmt(x)} ${fmt(y)})"` : '';
  const halo = o.halo ? ' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"' : '';
  return `<text x="${fmt(x)}" y="${fmt(y)}" font-family="${FONT}" font-size="${o.size ?? 13}" text-anchor="${o.anchor ?? 'start'}" font-weight="${o.weight ?? 'normal'}" fill="${o.fill ?? '#222'}"${rotate}${halo}>${content}</text>`;
}

/** A coordinate with at most 2 decimals (keeps the SVG small). */
export function fmt(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** Round tick values covering [lo, hi]: the step of 1, 2 or 5 times a power of ten nearest (in ratio) to giving `count` ticks. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = power;
  for (const m of [2, 5, 10]) if (Math.abs(Math.log((m * power) / raw)) < Math.abs(Math.log(step / raw))) step = m * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return ticks;
}

/** A tick label: short and exact enough to tell the ticks apart. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(6)));
}

/** Encodes a sharp pipeline as PNG and writes it atomically; failures become one UserError naming the file. */
export async function writePng(path: string, image: Sharp): Promise<void> {
  let png: Buffer;
  try {
    png = await image.png({ compressionLevel: 9 }).toBuffer();
  } catch (error) {
    throw new UserError(`Could not render the plot ${displayName(path)} (${messageOf(error)}).`, { cause: error });
  }
  try {
    await writeFileAtomicAsync(path, png, { fsync: false });
  } catch (error) {
    throw new UserError(`Could not write the plot ${displayName(path)} (${messageOf(error)}).`, { cause: error });
  }
}

/** Renders an SVG document to PNG at `path`. */
export async function writeSvgPng(path: string, svg: string): Promise<void> {
  await writePng(path, sharp(Buffer.from(svg)));
}
