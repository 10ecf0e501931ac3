import type { Graph } from '../core/graph.js';
import type { Plan } from './plan.js';
import {
  isFloatValue,
  kernelPrecisions,
  nameList,
  outputsOf,
  precisionsInUse,
  type ExportCommon,
  type PrecisionMapping,
} from './plan-export.js';
import type { Precision } from './profile.js';

/**
 * A plan as RKNN-Toolkit2 hybrid quantization settings: the `custom_quantize_layers` section of
 * the `<model>.quantization.cfg` that `hybrid_quantization_step1` writes and
 * `hybrid_quantization_step2` reads (airockchip/rknn-toolkit2 doc/03_Rockchip_RKNPU_API_Reference_
 * RKNN_Toolkit2, §2.12 Hybrid Quantization; rknn-toolkit2/examples/functions/hybrid_quant/step1.py):
 *
 *   custom_quantize_layers:
 *       <layer output name>: <dtype>        dtype ::= int8 | int16 | float16
 *
 * A layer is named by its output tensor, which for an ONNX model is the ONNX tensor name unless
 * the toolkit rewrote the layer (it adds suffixes such as `-rs`, or `#1`); the step1 file lists the
 * names it knows under `quantize_parameters`.
 *
 * Platforms: the API reference's `config(quantized_dtype=...)` has 16-bit integer models (w16a16i)
 * only on RV1103 and RV1106, and rknn-toolkit2/doc/changelog-2.3.2.txt adds int16 hybrid
 * quantization for RV1103 in v2.0.0b5; those two build quantized models only, with no float16
 * (ultralytics/ultralytics#24384 found the same with toolkit 2.3.2). RK3562, RK3566, RK3568,
 * RK3576, RK3588 and RV1126B take float16 layers. RK2118 does not run w8a8 models at all.
 *
 * Mapping, where `step1`'s default is int8 for every layer: int8 → nothing listed; int16 and a16w8
 * → int16 where the platform has it, else float16 (finer than INT8 at every magnitude); fp16 and
 * fp32 → float16 where the platform has it, else int16 (RKNN layers compute floats in FP16 at
 * most). Each node is listed under each float output at its kernel precision (plan-export.ts), so
 * a Conv→Relu group promoted together names both outputs, whichever one RKNN keeps after fusing.
 */

export type RknnDtype = 'int8' | 'int16' | 'float16';

export type RknnPlatform = 'rk3562' | 'rk3566' | 'rk3568' | 'rk3576' | 'rk3588' | 'rv1126b' | 'rv1103' | 'rv1106';

/** What each platform's NPU takes in custom_quantize_layers besides int8. */
const PLATFORMS: Readonly<Record<RknnPlatform, { readonly float16: boolean; readonly int16: boolean }>> = {
  rk3562: { float16: true, int16: false },
  rk3566: { float16: true, int16: false },
  rk3568: { float16: true, int16: false },
  rk3576: { float16: true, int16: false },
  rk3588: { float16: true, int16: false },
  rv1126b: { float16: true, int16: false },
  rv1103: { float16: false, int16: true },
  rv1106: { float16: false, int16: true },
};

export const RKNN_PLATFORMS = Object.keys(PLATFORMS) as readonly RknnPlatform[];
export const DEFAULT_RKNN_PLATFORM: RknnPlatform = 'rk3588';

export interface RknnLayer {
  /** The layer's output tensor name. */
  readonly name: string;
  readonly dtype: RknnDtype;
  /** The node whose output it is, and its kernel precision in the plan. */
  readonly node: string;
  readonly planned: Precision;
}

export interface RknnExport extends ExportCommon {
  readonly platform: RknnPlatform;
  readonly layers: readonly RknnLayer[];
}

export function rknnDtype(platform: RknnPlatform, precision: Precision): RknnDtype {
  const p = PLATFORMS[platform];
  if (precision === 'int8') return 'int8';
  if (precision === 'int16' || precision === 'a16w8') return p.int16 ? 'int16' : 'float16';
  return p.float16 ? 'float16' : 'int16';
}

export function rknnExport(graph: Graph, plan: Plan, platform: RknnPlatform): RknnExport {
  const kernel = kernelPrecisions(graph, plan);
  const layers: RknnLayer[] = [];
  const floatDefaults: string[] = [];
  for (const n of graph.nodes) {
    const planned = kernel.get(n.name) ?? plan.profile.floatOps;
    const dtype = rknnDtype(platform, planned);
    if (dtype === 'int8') continue;
    const outs = outputsOf(n).filter((o) => isFloatValue(graph, o));
    if (outs.length === 0) continue;
    if (planned === plan.profile.floatOps && plan.precision.get(n.name) === plan.profile.floatOps) floatDefaults.push(n.name);
    for (const o of outs) layers.push({ name: o, dtype, node: n.name, planned });
  }

  const caps = PLATFORMS[platform];
  const notes: string[] = [];
  const sixteen = layers.filter((l) => l.planned === 'int16' || l.planned === 'a16w8');
  if (sixteen.length > 0 && !caps.int16) {
    notes.push(
      `RKNN-Toolkit2 documents 16-bit integer layers only for RV1103 and RV1106, so on ${platform} the ${sixteen.length} int16/a16w8 layer(s) are float16, which quantscope has not measured (plan them fp16 to measure it).`,
    );
  }
  if (layers.some((l) => l.planned === 'a16w8') && caps.int16) {
    notes.push(
      "RKNN's int16 layers have 16-bit weights too: a16w8 (8-bit weights) cannot be expressed, and its layers get int16, which is at least as precise.",
    );
  }
  if (layers.some((l) => l.planned === 'fp32')) {
    notes.push(
      `RKNN layers compute floats in FP16 at most: fp32 cannot be expressed, and its layers get ${caps.float16 ? 'float16' : 'int16'}.`,
    );
  }
  if (!caps.float16 && layers.some((l) => l.planned === 'fp16' || l.planned === 'fp32')) {
    notes.push(`The ${platform} NPU has no float16, so float layers get int16 instead.`);
  }
  if (floatDefaults.length > 0) {
    notes.push(
      `${floatDefaults.length} node(s) are listed because profile '${plan.profile.name}' runs its non-quantized ops in ${plan.profile.floatOps.toUpperCase()} (${nameList(floatDefaults)}), where RKNN's w8a8 would quantize them to int8; drop the entries you are willing to measure at int8.`,
    );
  }
  notes.push(
    "RKNN names layers by their output tensors after its own graph optimizations (fused layers keep the last output's name, some get suffixes such as -rs): check every name against the quantize_parameters of the step1 file, since step2 ignores names it does not know.",
  );
  return { platform, layers, mapping: rknnMapping(plan, platform), notes };
}

function rknnMapping(plan: Plan, platform: RknnPlatform): PrecisionMapping[] {
  const caps = PLATFORMS[platform];
  const why: Partial<Record<Precision, string>> = {
    int8: "step1's default: not listed",
    ...(caps.int16
      ? { a16w8: 'RKNN int16 layers have 16-bit weights' }
      : { int16: `no 16-bit integer layers on ${platform}`, a16w8: `no 16-bit integer layers on ${platform}` }),
    ...(caps.float16
      ? { fp32: 'RKNN computes floats in FP16 at most' }
      : { fp16: `no float16 on ${platform}`, fp32: `no float16 on ${platform}` }),
  };
  return precisionsInUse(plan).map(([precision, nodes]) => ({
    precision,
    nodes,
    target: rknnDtype(platform, precision),
    ...(why[precision] ? { why: why[precision] } : {}),
  }));
}
