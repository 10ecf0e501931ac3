import os from 'node:os';
import { median } from 'simple-statistics';
import { OrtSession } from '../backends/session.js';
import { displayName } from '../core/closest.js';
import { UserError } from '../core/errors.js';
import type { OnnxModel } from '../onnx/index.js';
import { findOrtProfile, readOrtProfile, temporaryProfilePrefix, type NodeTime } from '../store/ort-profile.js';
import type { ModelContext } from './context.js';
import { silent, throwIfCancelled, type ProgressListener } from './events.js';

export interface TimedModel {
  /** What the report calls it: `float`, `int8` (the emitted plan's tag), a file name. */
  readonly label: string;
  readonly model: OnnxModel;
}

export interface TimeOptions {
  readonly ctx: ModelContext;
  readonly models: readonly TimedModel[];
  /** Untimed runs first (default 3): the first runs allocate and warm caches. */
  readonly warmup?: number;
  /** Timed runs (default 10). */
  readonly repeat?: number;
  /** onnxruntime's per-node profile of the timed runs, with the top nodes (default off: it costs time). */
  readonly profileNodes?: boolean;
  /** How many nodes the report lists (default 10). */
  readonly top?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface ModelTiming {
  readonly label: string;
  readonly runs: number;
  readonly warmup: number;
  readonly ms: readonly number[];
  readonly minMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** With profileNodes: the nodes taking the most kernel time per run, with their share of the sum. */
  readonly topNodes?: readonly (NodeTime & { readonly perRunMs: number; readonly share: number })[];
}

export interface TimeReport {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly inputs: readonly { readonly name: string; readonly source: string }[];
  readonly machine: string;
  readonly results: readonly ModelTiming[];
}

/**
 * Measured timing on this machine (issue 17; as the seed labs timed CPU against the board): each
 * model in a fresh onnxruntime session with default options, as a user's plain session runs it,
 * on the same inputs; warm-up runs, then timed runs (min, median, max). The runs happen on the
 * onnxruntime thread, so the times hold no tensor transfer. With profileNodes, a second session
 * with onnxruntime's profiler gives each node's kernel time (profiling slows the run, so the
 * timings come from the first session).
 */
export async function timeModels(options: TimeOptions): Promise<TimeReport> {
  const { ctx } = options;
  const onProgress = options.onProgress ?? silent;
  const { warmup, repeat } = checkTimeOptions(options);
  const results: ModelTiming[] = [];
  for (const [k, m] of options.models.entries()) {
    throwIfCancelled(options.signal);
    onProgress({
      type: 'progress',
      stage: 'time',
      done: k,
      total: options.models.length,
      detail: `${m.label}: ${warmup} warm-up + ${repeat} timed run(s)`,
    });
    const label = `the ${m.label} model of '${displayName(ctx.loaded.path)}'`;
    const session = await OrtSession.forTiming(m.model, label);
    let ms: number[];
    try {
      ms = await session.time(ctx.feeds, warmup, repeat);
    } finally {
      await session.dispose();
    }
    const timing: ModelTiming = {
      label: m.label,
      runs: repeat,
      warmup,
      ms,
      minMs: Math.min(...ms),
      medianMs: median(ms),
      maxMs: Math.max(...ms),
    };
    results.push(
      options.profileNodes ? { ...timing, topNodes: await profileNodes(m, label, ctx, warmup, repeat, options.top ?? 10) } : timing,
    );
  }
  onProgress({ type: 'progress', stage: 'time', done: options.models.length, total: options.models.length });
  return {
    schemaVersion: 1,
    model: ctx.loaded.path,
    inputs: ctx.sources.map((s) => ({ name: s.name, source: s.source })),
    machine: machineText(),
    results,
  };
}

/** The run counts, checked (before anything is calibrated or run): warm-up 0 or more, timed runs 1 or more. */
export function checkTimeOptions(options: Pick<TimeOptions, 'warmup' | 'repeat'>): { warmup: number; repeat: number } {
  const warmup = options.warmup ?? 3;
  const repeat = options.repeat ?? 10;
  if (!Number.isSafeInteger(warmup) || warmup < 0) throw new UserError(`--warmup must be a whole number of runs, got ${warmup}.`);
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new UserError(`--repeat must be at least 1, got ${repeat}.`);
  return { warmup, repeat };
}

async function profileNodes(
  m: TimedModel,
  label: string,
  ctx: ModelContext,
  warmup: number,
  repeat: number,
  top: number,
): Promise<NonNullable<ModelTiming['topNodes']>> {
  const place = temporaryProfilePrefix();
  try {
    const session = await OrtSession.forTiming(m.model, label, place.prefix);
    try {
      await session.time(ctx.feeds, warmup, repeat);
      await session.endProfiling();
    } finally {
      await session.dispose();
    }
    const nodes = readOrtProfile(findOrtProfile(place.prefix));
    const runs = warmup + repeat;
    const total = nodes.reduce((s, n) => s + n.totalUs, 0);
    return nodes.slice(0, top).map((n) => ({ ...n, perRunMs: n.totalUs / runs / 1000, share: total > 0 ? n.totalUs / total : 0 }));
  } finally {
    place.remove();
  }
}

function machineText(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, load ${os.loadavg()[0].toFixed(2)}, Node ${process.version}`;
}
