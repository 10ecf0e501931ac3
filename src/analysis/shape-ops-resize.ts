import type { Dim } from '../core/graph.js';
import { intsAttr, stringAttr } from '../core/graph.js';
import { floatsAttr, inferred, numbersOf, type KnownValue, type RuleContext, type ShapeRule } from './shape-context.js';
import { isNum, normAxes } from './shape-dims.js';

/**
 * floor(in * scale) computed in float32, as onnxruntime does (`int64_t(scale * float(in))`), so a
 * scale such as 1/3 stored as float32 rounds exactly as at run time. A symbol survives scale 1.
 * The roi of tf_crop_and_resize does not enter the size: neither onnxruntime nor ONNX's own shape
 * inference uses it there.
 */
function scaledDim(d: Dim, scale: number): Dim {
  if (!isNum(d)) return scale === 1 ? d : null;
  return Math.floor(Math.fround(Math.fround(d) * Math.fround(scale)));
}

/** Elements of a scales or sizes input; an empty constant counts as absent (ONNX allows '' or []). */
function given(ctx: RuleContext, i: number): { present: boolean; value: KnownValue | undefined } {
  if (i < 0 || !ctx.has(i)) return { present: false, value: undefined };
  const value = ctx.value(i);
  return { present: value === undefined || value.values.length > 0, value };
}

/**
 * Resize: inputs X, scales (opset 10) or X, roi, scales, sizes (opset 11+); opset 18's `axes`
 * restricts both to some axes and keep_aspect_ratio_policy not_larger / not_smaller turns sizes
 * into one common scale, output round(scale * in).
 */
const resize: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const dtype = ctx.input(0).dtype;
  if (!x) return inferred(dtype, null);
  const axesAttr = intsAttr(ctx.node, 'axes');
  const axes = axesAttr ? normAxes(axesAttr, x.length) : x.map((_, i) => i);
  if (!axes) return inferred(dtype, null);
  const unknownAxes = x.map((d, i) => (axes.includes(i) ? null : d));
  const scales = given(ctx, ctx.opset < 11 ? 1 : 2);
  const sizes = given(ctx, ctx.opset < 11 ? -1 : 3);
  if (scales.present) {
    const s = numbersOf(scales.value);
    if (!s) return inferred(dtype, unknownAxes);
    if (s.length !== axes.length) return inferred(dtype, null);
    const out = [...x];
    axes.forEach((a, i) => {
      out[a] = scaledDim(x[a], s[i]);
    });
    return inferred(dtype, out);
  }
  if (!sizes.present) return inferred(dtype, unknownAxes);
  // Sizes folded from a Shape may hold symbolic dims, which stretch passes through.
  const target = sizes.value?.values;
  if (!target) return inferred(dtype, unknownAxes);
  if (target.length !== axes.length) return inferred(dtype, null);
  const out: Dim[] = [...x];
  const policy = stringAttr(ctx.node, 'keep_aspect_ratio_policy', 'stretch');
  if (policy === 'not_larger' || policy === 'not_smaller') {
    const inputs = axes.map((a) => x[a]);
    if (!inputs.every(isNum) || !target.every(isNum)) return inferred(dtype, unknownAxes);
    const ratios = target.map((t, i) => Math.fround((t as number) / Math.fround(inputs[i] as number)));
    const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
    axes.forEach((a, i) => {
      out[a] = Math.round(Math.fround(scale * (inputs[i] as number)));
    });
  } else {
    axes.forEach((a, i) => {
      out[a] = target[i];
    });
  }
  return inferred(dtype, out);
};

/** Upsample: floor(in * scale) with scales from the attribute (opset 7-8) or input 1 (opset 9). */
const upsample: ShapeRule = (ctx) => {
  const x = ctx.input(0).shape;
  const dtype = ctx.input(0).dtype;
  if (!x) return inferred(dtype, null);
  const scales = floatsAttr(ctx.node, 'scales') ?? numbersOf(ctx.value(1));
  if (!scales)
    return inferred(
      dtype,
      x.map(() => null),
    );
  if (scales.length !== x.length) return inferred(dtype, null);
  return inferred(
    dtype,
    x.map((d, i) => scaledDim(d, scales[i])),
  );
};

export const resizeRules: Record<string, ShapeRule> = { Resize: resize, Upsample: upsample };
