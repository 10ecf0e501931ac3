import { byteSize } from '../core/tensor.js';
import { allActivationTensors, type ModelContext } from './context.js';
import { DEFAULT_MAX_MEMORY, formatBytes, planMemory, type MemoryPlan } from '../analysis/memory.js';

/** The size the grouping assumes for a tensor whose size shape inference could not tell. */
export const UNKNOWN_BYTES = 16 * 1024 * 1024;

/**
 * How one backend run of a command holds tensors, for the memory rule (planMemory):
 * - `run`: the taps once, beside the inputs and outputs;
 * - `compare`: each tap twice (float and quant, then float and own), the outputs twice too;
 * - `calibrate`: every float activation once, in groups;
 * - `probe` (bisect and fix): any activation, one or a few at a time, from both backends.
 */
export type MemoryUse = 'run' | 'compare' | 'calibrate' | 'probe';

const COPIES: Record<MemoryUse, number> = { run: 1, compare: 2, calibrate: 1, probe: 2 };

const WORDING: Record<MemoryUse, { subject: string; remedy: string }> = {
  run: { subject: 'Tap', remedy: 'raise --max-memory or leave it out of the taps' },
  compare: { subject: 'Tap', remedy: 'raise --max-memory or leave it out of the taps' },
  calibrate: {
    subject: 'Calibration tensor',
    remedy: 'raise --max-memory (calibration measures every float activation) or give --calibration FILE',
  },
  probe: { subject: 'Tensor', remedy: 'raise --max-memory (bisect and fix may probe any activation)' },
};

/** The float activations calibration taps (float32 or of unknown type). */
export function calibrationTensors(ctx: ModelContext): string[] {
  return allActivationTensors(ctx.graph).filter((t) => {
    const dtype = ctx.values.get(t)?.dtype;
    return dtype === undefined || dtype === null || dtype === 'float32';
  });
}

/**
 * The one memory check of every command (`--max-memory`, DESIGN.md §5), made before anything runs:
 * refuses, in one sentence naming the tensor, its size and the budget, a tensor that cannot be
 * held `COPIES[use]` times beside the inputs and outputs, and groups the tensors otherwise.
 * `tensors` defaults to what the use holds: every activation for `calibrate` and `probe`.
 */
export function planMemoryUse(ctx: ModelContext, use: MemoryUse, maxMemory: number | undefined, tensors?: readonly string[]): MemoryPlan {
  const copies = COPIES[use];
  const budget = maxMemory ?? DEFAULT_MAX_MEMORY;
  const held = (t: string) => {
    const bytes = ctx.bytesOf(t);
    return { name: t, bytes: bytes === null ? null : copies * bytes };
  };
  const list = tensors ?? (use === 'calibrate' ? calibrationTensors(ctx) : allActivationTensors(ctx.graph));
  return planMemory(
    list.map(held),
    [...ctx.feeds].map(([name, t]) => ({ name, bytes: byteSize(t) })),
    ctx.graph.outputs.map((o) => held(o.name)),
    budget,
    `${maxMemory === undefined ? 'the default --max-memory of ' : '--max-memory '}${formatBytes(budget)}${copies > 1 ? ` (${use === 'compare' ? 'compare' : 'a probe'} holds each tensor from both backends)` : ''}`,
    copies * UNKNOWN_BYTES,
    WORDING[use],
  );
}
