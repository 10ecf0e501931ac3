import {
  deployedVerdict,
  emulationVerdict,
  finitePeak,
  stepDifference,
  stepOf,
  type CheckResult,
  type DeployedOutputCheck,
  type StepBasis,
  type TensorEmulationCheck,
} from '../analysis/emulation-check.js';
import type { ValueInfo } from '../core/graph.js';
import { isNumeric, type Tensor } from '../core/tensor.js';
import type { QuantBackend } from '../backends/quant.js';
import { computeMetrics } from '../analysis/metrics.js';
import { FloatBackend } from '../backends/float.js';
import { isolateKernels } from '../quant/kernel-isolation.js';
import { compareTaps } from './compare/compare.js';
import { checkCancelled } from './compare/compare-report.js';
import { floatBackendFor, type ModelContext } from './context.js';
import { silent, type ProgressListener } from './events.js';
import { planMemoryUse } from './memory-plan.js';
import { qdqModel, quantBackendFor } from './quantize.js';
import type { QuantSetup } from './quant-setup.js';

/** The default tolerance of the self-check, in quantization steps of each tensor. */
export const DEFAULT_CHECK_TOLERANCE = 1;

export interface CheckOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  /** Tap specs (selection language); default `@all`. The graph outputs are always checked. */
  readonly taps?: readonly string[];
  /** Largest agreeing difference, in steps (default 1). */
  readonly tolerance?: number;
  readonly maxMemory?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

interface StepInfo {
  readonly storage: TensorEmulationCheck['storage'];
  readonly basis: StepBasis;
  readonly scale: number | null;
}

/**
 * The emulation self-check (DESIGN.md §4): the quant model of the plan run with graph
 * optimizations disabled (the literal QDQ semantics) and at the quant backend's level (integer
 * kernels), on the same inputs, compared tensor by tensor in units of each tensor's quantization
 * step (analysis/emulation-check.ts). Two models are checked: the one with every tap as a
 * boundary (as compare and bisect run it), in memory-bounded groups, and the one without taps
 * (as emit writes it), at its outputs.
 */
export async function checkEmulation(options: CheckOptions): Promise<CheckResult> {
  const { ctx, quant } = options;
  const onProgress = options.onProgress ?? silent;
  const tolerance = options.tolerance ?? DEFAULT_CHECK_TOLERANCE;
  const taps = compareTaps(ctx, options.taps);
  const outputs = ctx.graph.outputs.map((o) => o.name);
  const bits: 8 | 16 = [...quant.plan.precision.values()].includes('int8') ? 8 : 16;
  const { groups } = planMemoryUse(ctx, 'compare', options.maxMemory, taps);

  const tapped = stepInfo(ctx, quant, taps);
  const tapSet = new Set(taps);
  const qdq = qdqModel(ctx, quant.plan, quant.calibration, taps).model;
  const info = (t: string): ValueInfo => {
    const v = ctx.values.get(t);
    return { name: t, dtype: v?.dtype ?? 'float32', ...(v?.shape ? { shape: v.shape } : {}) };
  };
  const tensors: TensorEmulationCheck[] = [];
  onProgress({
    type: 'stage',
    stage: 'check',
    detail: `${taps.length} tensors in ${groups.length} group(s), each kernel optimized and literal`,
  });
  const optimized = await quantBackendFor(ctx, quant.plan, quant.calibration);
  try {
    await optimized.prepare(taps);
    for (const [g, group] of groups.entries()) {
      checkCancelled(options.signal, 'The check');
      const produced = group.filter((t) => ctx.graph.producer.has(t));
      const kernels = isolateKernels(qdq, tapSet, produced, info);
      const b = await optimized.run(ctx.feeds, [...new Set([...group, ...kernels.given.keys()])]);
      const feeds = new Map(ctx.feeds);
      for (const [t, input] of kernels.given) {
        const value = b.get(t) ?? ctx.feeds.get(t);
        if (value) feeds.set(input, value);
      }
      const literal = await FloatBackend.create(kernels.model, {
        optimization: 'disabled',
        label: `the literal kernels of '${ctx.loaded.path}'`,
      });
      let a: Map<string, Tensor>;
      try {
        a = produced.length > 0 ? await literal.run(feeds, []) : new Map();
      } finally {
        await literal.dispose();
      }
      for (const t of produced) {
        const row = checkTensor(ctx, t, a.get(t), b.get(t), tapped.get(t), bits, tolerance);
        if (row) tensors.push(row);
      }
      onProgress({ type: 'progress', stage: 'check', done: g + 1, total: groups.length, detail: `${group.length} tensor(s)` });
    }
  } finally {
    await optimized.dispose();
  }

  checkCancelled(options.signal, 'The check');
  onProgress({ type: 'stage', stage: 'check', detail: 'the model without taps: float, literal and optimized' });
  const untapped = stepInfo(ctx, quant, []);
  const deployed: DeployedOutputCheck[] = [];
  const float = await floatBackendFor(ctx);
  let reference: Map<string, Tensor>;
  try {
    reference = await float.run(ctx.feeds, []);
  } finally {
    await float.dispose();
  }
  await withBackends(ctx, quant, async (literal, optimized) => {
    const a = await literal.run(ctx.feeds, []);
    const b = await optimized.run(ctx.feeds, []);
    for (const t of outputs) {
      const row = checkTensor(ctx, t, a.get(t), b.get(t), untapped.get(t), bits, tolerance);
      const ref = reference.get(t);
      const lit = a.get(t);
      const opt = b.get(t);
      if (!row || !ref || !lit || !opt) continue;
      const literalSnrDb = computeMetrics(ref, lit).snrDb;
      const optimizedSnrDb = computeMetrics(ref, opt).snrDb;
      const verdict = deployedVerdict(row.verdict, row.difference, literalSnrDb, optimizedSnrDb);
      deployed.push({ ...row, verdict, literalSnrDb, optimizedSnrDb });
    }
  });

  const notes = [
    'Reading a tensor out can stop onnxruntime from fusing the kernels around it (as dumping does on a device), so the per-tensor rows check the model compare runs with these taps; the model without taps (what emit writes) is checked at its outputs.',
    `Tensors kept in fp32 are judged in steps of an INT${bits} grid spanning their own peak; their differences come from quantized tensors upstream.`,
  ];
  const passes = [...tensors, ...deployed].every((r) => r.verdict !== 'mismatch');
  return { model: ctx.modelName, profile: quant.profile.name, tolerance, tensors, deployed, passes, notes };
}

async function withBackends(
  ctx: ModelContext,
  quant: QuantSetup,
  work: (literal: QuantBackend, optimized: QuantBackend) => Promise<void>,
): Promise<void> {
  const literal = await quantBackendFor(ctx, quant.plan, quant.calibration, 'disabled');
  try {
    const optimized = await quantBackendFor(ctx, quant.plan, quant.calibration);
    try {
      await work(literal, optimized);
    } finally {
      await optimized.dispose();
    }
  } finally {
    await literal.dispose();
  }
}

/** How the QDQ model built for these taps stores each tensor, read from its quantization records. */
function stepInfo(ctx: ModelContext, quant: QuantSetup, taps: readonly string[]): Map<string, StepInfo> {
  const { records } = qdqModel(ctx, quant.plan, quant.calibration, taps);
  const out = new Map<string, StepInfo>();
  for (const r of records) {
    // The record of the tensor as its producer stores it (not a consumer's requantized copy).
    if (ctx.graph.producer.get(r.tensor)?.name !== r.node) continue;
    if (r.kind === 'activation' && typeof r.scale === 'number') {
      out.set(r.tensor, { storage: r.bits === 8 ? 'int8' : 'int16', basis: 'scale', scale: r.scale });
    } else if (r.kind === 'fp16') {
      out.set(r.tensor, { storage: 'fp16', basis: 'fp16', scale: null });
    }
  }
  return out;
}

function checkTensor(
  ctx: ModelContext,
  tensor: string,
  a: Tensor | undefined,
  b: Tensor | undefined,
  info: StepInfo | undefined,
  bits: 8 | 16,
  tolerance: number,
): TensorEmulationCheck | null {
  if (!a || !b || !isNumeric(a) || !isNumeric(b)) return null;
  const node = ctx.graph.producer.get(tensor);
  const basis = info?.basis ?? 'peak';
  const step = stepOf(basis, info?.scale ?? null, finitePeak(a), bits);
  const difference = stepDifference(a, b, step);
  return {
    tensor,
    node: node?.name ?? '',
    opType: node?.opType ?? '',
    storage: info?.storage ?? 'fp32',
    basis,
    step,
    difference,
    verdict: emulationVerdict(difference, tolerance),
  };
}
