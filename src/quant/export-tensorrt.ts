import type { Graph, GraphNode } from '../core/graph.js';
import { isQuantizable, type Plan } from './plan.js';
import {
  isFloatValue,
  nameList,
  outputsOf,
  plannedNodes,
  precisionsInUse,
  type ExportCommon,
  type PrecisionMapping,
} from './plan-export.js';
import type { Precision } from './profile.js';

/**
 * A plan as TensorRT per-layer precision constraints for trtexec, whose syntax is defined in
 * NVIDIA/TensorRT samples/common/sampleOptions.cpp (getLayerPrecisions, getLayerOutputTypes and
 * the help text of BuildOptions) and in the trtexec section of the TensorRT developer guide:
 *
 *   --precisionConstraints=obey            build fails unless each constraint is met
 *   --layerPrecisions=spec                 spec ::= layerName":"precision[","spec]
 *   --layerOutputTypes=spec                spec ::= layerName":"type["+"type...][","spec]
 *   precision, type ::= "fp32" | "fp16" | "int32" | "int8" (newer releases add more)
 *
 * The list is split on ',' and each entry on its last ':', and single quotes are removed from the
 * name: a layer name with ',' or ''' cannot be written there, nor one with a NUL, which no
 * command-line argument can hold. trtexec also needs --int8 and
 * --fp16 to allow those precisions at all.
 *
 * Mapping: int8 → int8, fp16 → fp16, fp32 → fp32. TensorRT has no INT16 layer precision, so int16
 * and a16w8 map to fp16: FP16's 11-bit significand gives every value a step of at most 2^-11 of
 * its magnitude, finer than INT8 everywhere and within 16× of INT16's step at the top of the
 * calibrated range, at TensorRT's cheap precision and with no calibration; its limit is range
 * (|x| ≤ 65504), which a plan can ask for with fp32 instead.
 *
 * Which layers are listed: every node the plan moves off the profile's default (plannedNodes), and
 * every other node whose mapped precision differs from what TensorRT may pick with no constraint
 * under the same flags (quantized ops: int8 with --int8; other layers: fp16 with --fp16, else
 * fp32). With --fp16 on, the layers the profile keeps in FP32 are therefore listed as fp32.
 * Layers computing no floats (Shape, integer Gather...) are never listed.
 */

export type TrtType = 'fp32' | 'fp16' | 'int8';

export interface TrtLayer {
  /** The ONNX node name, which TensorRT's ONNX parser gives the layer. */
  readonly name: string;
  readonly precision: TrtType;
  /** One type per output, or null when an output is not a float tensor (then no output type is set). */
  readonly outputTypes: readonly TrtType[] | null;
  /** The node's precision in the plan. */
  readonly planned: Precision;
}

export interface TensorRtExport extends ExportCommon {
  readonly layers: readonly TrtLayer[];
  /** trtexec --int8: some node runs in INT8. */
  readonly int8: boolean;
  /** trtexec --fp16: some layer runs in FP16. */
  readonly fp16: boolean;
}

const TRT_TYPE: Record<Precision, TrtType> = { int8: 'int8', a16w8: 'fp16', int16: 'fp16', fp16: 'fp16', fp32: 'fp32' };

/** Whether trtexec can carry the name in --layerPrecisions (see the module comment). */
export function isTrtexecName(name: string): boolean {
  return name !== '' && !name.includes(',') && !name.includes("'") && !name.includes('\0');
}

/**
 * The TensorRT export of a plan. `assigned` holds the node names the model file does not have:
 * the parser names those layers its own way, so they cannot be listed.
 */
export function tensorRtExport(graph: Graph, plan: Plan, assigned: ReadonlySet<string>): TensorRtExport {
  const profile = plan.profile;
  const computing = graph.nodes.filter((n) => outputsOf(n).some((o) => isFloatValue(graph, o)));
  const typeOf = (n: GraphNode): TrtType => TRT_TYPE[plan.precision.get(n.name) ?? profile.floatOps];
  const int8 = computing.some((n) => typeOf(n) === 'int8');
  const fp16 = computing.some((n) => typeOf(n) === 'fp16');
  const unconstrained = (n: GraphNode): TrtType => (isQuantizable(profile, n) && int8 ? 'int8' : fp16 ? 'fp16' : 'fp32');

  const decided = new Set(plannedNodes(graph, plan).map((n) => n.name));
  const layers: TrtLayer[] = [];
  const unnamed: string[] = [];
  const unwritable: string[] = [];
  const untyped: string[] = [];
  let keptFp32 = 0;
  for (const n of computing) {
    const type = typeOf(n);
    if (!decided.has(n.name) && type === unconstrained(n)) continue;
    if (assigned.has(n.name)) {
      unnamed.push(n.name);
      continue;
    }
    if (!isTrtexecName(n.name)) {
      unwritable.push(n.name);
      continue;
    }
    const outs = outputsOf(n);
    const allFloat = outs.every((o) => isFloatValue(graph, o));
    if (!allFloat) untyped.push(n.name);
    if (type === 'fp32' && !isQuantizable(profile, n) && plan.precision.get(n.name) === profile.floatOps) keptFp32++;
    layers.push({
      name: n.name,
      precision: type,
      outputTypes: allFloat ? outs.map(() => type) : null,
      planned: plan.precision.get(n.name) ?? profile.floatOps,
    });
  }

  const notes: string[] = [];
  const sixteen = graph.nodes.filter((n) => {
    const p = plan.precision.get(n.name);
    return p === 'int16' || p === 'a16w8';
  });
  if (sixteen.length > 0) {
    notes.push(
      `TensorRT has no INT16 layer precision, so ${sixteen.length} node(s) planned int16 or a16w8 (${nameList(sixteen.map((n) => n.name))}) run in FP16: finer than INT8 everywhere and needing no calibration, but limited to |x| ≤ 65504; quantscope has not measured FP16 there (plan them fp16 to measure it, fp32 if they overflow).`,
    );
  }
  if (keptFp32 > 0) {
    notes.push(
      `--fp16 lets TensorRT run any unconstrained layer in FP16, so the ${keptFp32} non-quantized layer(s) that profile '${profile.name}' keeps in FP32 are listed as fp32.`,
    );
  }
  notes.push(
    'TensorRT\'s ONNX parser names each layer after its ONNX node (an op it expands into several layers adds suffixes, and fused layers show as "a + b"): check with --exportLayerInfo that every listed layer got its precision.',
  );
  if (int8) {
    notes.push(
      '--int8 needs a calibration cache (--calib=FILE) for real accuracy; without one trtexec uses placeholder dynamic ranges, good for timing only.',
    );
  }
  if (unnamed.length > 0) {
    notes.push(
      `${unnamed.length} node(s) have no name in the model file (${nameList(unnamed)} are quantscope's names), so their layers cannot be listed: name them in the model first.`,
    );
  }
  if (unwritable.length > 0) {
    notes.push(
      `${unwritable.length} node name(s) hold ',', ''' or a NUL (${nameList(unwritable)}), which trtexec's --layerPrecisions cannot carry: rename them, or set their precision with the TensorRT API (ILayer::setPrecision).`,
    );
  }
  if (untyped.length > 0) {
    notes.push(
      `${untyped.length} layer(s) with a non-float output (${nameList(untyped)}) get a precision but no --layerOutputTypes entry.`,
    );
  }
  return { layers, int8, fp16, mapping: tensorRtMapping(plan), notes };
}

function tensorRtMapping(plan: Plan): PrecisionMapping[] {
  const why: Partial<Record<Precision, string>> = {
    int16: 'TensorRT has no INT16 layers; FP16 is finer than INT8 and needs no calibration',
    a16w8: 'TensorRT has no 16-bit integer activations; FP16 as for int16',
  };
  return precisionsInUse(plan).map(([precision, nodes]) => ({
    precision,
    nodes,
    target: TRT_TYPE[precision],
    ...(why[precision] ? { why: why[precision] } : {}),
  }));
}
