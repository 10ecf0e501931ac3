import { compareModel, compareTaps, type CompareTimings } from '../app/compare/compare.js';
import { floatBackendFor } from '../app/context.js';
import { DEFAULT_MAX_MEMORY, groupBySize } from '../analysis/memory.js';
import { quantBackendFor } from '../app/quantize.js';
import type { Tensor } from '../core/tensor.js';
import { figure, nowMs, ratios, timed, type Figure } from './figures.js';
import type { PreparedModel } from './models.js';

/** As in app/compare/compare.ts: the size grouping assumes for a tensor shape inference could not size. */
const UNKNOWN_BYTES = 16 * 1024 * 1024;

export interface FloorTimings {
  readonly totalMs: number;
  /** Building both sessions (the quant one includes the QDQ rewrite). */
  readonly sessionsMs: number;
  readonly floatMs: number;
  readonly quantMs: number;
  readonly readMs: number;
  readonly groups: number;
  /** Bytes of float and quant tensors read. */
  readonly bytes: number;
  /** The sum of every value read: returned so that the read pass cannot be optimized away. */
  readonly checksum: number;
}

/**
 * Reads every value of a tensor once (a sum), so the floor pays for touching the data as the
 * comparison must. Returns the bytes read.
 */
export function readEveryValue(t: Tensor): { bytes: number; sum: number } {
  const data = t.data;
  let sum = 0;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) sum += Number(data[i]);
  } else if (!Array.isArray(data)) {
    const a = data as Float32Array;
    for (let i = 0; i < a.length; i++) sum += a[i];
  }
  return { bytes: Array.isArray(data) ? 0 : (data as Float32Array).byteLength, sum };
}

/**
 * The floor of a full comparison (DESIGN.md §8): the float and quant runs with the compare's taps,
 * grouped exactly as compareModel groups them, plus one pass reading every value of both. Session
 * creation (and the QDQ rewrite behind the quant session) is included, since a compare cannot
 * avoid it either; model loading and calibration are outside, as for the compare.
 */
export async function measureFloor(p: PreparedModel, maxMemory = DEFAULT_MAX_MEMORY): Promise<FloorTimings> {
  const { ctx, quant } = p;
  const taps = compareTaps(ctx, ['@all']);
  const groups = groupBySize(taps, (t) => 2 * (ctx.bytesOf(t) ?? UNKNOWN_BYTES), maxMemory);
  const start = nowMs();
  const float = await floatBackendFor(ctx);
  const q = await quantBackendFor(ctx, quant.plan, quant.calibration);
  let floatMs = 0;
  let quantMs = 0;
  let readMs = 0;
  let bytes = 0;
  let checksum = 0;
  let sessionsMs: number;
  try {
    const s = nowMs();
    await float.prepare(taps);
    await q.prepare(taps);
    sessionsMs = nowMs() - s;
    for (const group of groups) {
      const f = await timed(() => float.run(ctx.feeds, group));
      const qq = await timed(() => q.run(ctx.feeds, group));
      floatMs += f.ms;
      quantMs += qq.ms;
      const r = nowMs();
      for (const name of group) {
        for (const out of [f.value, qq.value]) {
          const t = out.get(name) ?? ctx.feeds.get(name);
          if (!t) continue;
          const read = readEveryValue(t);
          bytes += read.bytes;
          checksum += read.sum;
        }
      }
      readMs += nowMs() - r;
    }
  } finally {
    await float.dispose();
    await q.dispose();
  }
  return { totalMs: nowMs() - start, sessionsMs, floatMs, quantMs, readMs, groups: groups.length, bytes, checksum };
}

export interface CompareRun {
  readonly ms: number;
  readonly timings: CompareTimings;
  readonly groups: number;
}

/** One compareModel over every tensor (`--taps @all`), with or without the own-error and achievable runs. */
export async function measureCompare(p: PreparedModel, extras: boolean, maxMemory?: number): Promise<CompareRun> {
  const { value, ms } = await timed(() =>
    compareModel({
      ctx: p.ctx,
      quant: p.quant,
      taps: ['@all'],
      maxMemory,
      own: extras,
      achievable: extras,
    }),
  );
  return { ms, timings: value.timings, groups: value.groups };
}

export interface CompareFloorResult {
  readonly figures: Figure[];
  /** Per repetition: the compare timings and the floor, for results.json. */
  readonly detail: { full: CompareRun[]; plain: CompareRun[]; floor: FloorTimings[]; floorOneGroup: FloorTimings[] };
}

/**
 * Section 1: `compare --taps @all` against its floor, in this process, `reps` times. Each
 * repetition measures the full compare, the plain compare (`--no-own --no-achievable`), the floor
 * over the compare's memory groups and the floor in one group, in an order rotated from one repetition to the next so that warm caches favour none of
 * them; ratios are taken within the repetition.
 */
export async function compareVsFloor(p: PreparedModel, reps: number, onStep: (what: string) => void): Promise<CompareFloorResult> {
  const full: CompareRun[] = [];
  const plain: CompareRun[] = [];
  const floor: FloorTimings[] = [];
  const floorOneGroup: FloorTimings[] = [];
  // One untimed warm-up of the floor: the first session in a process loads onnxruntime's kernels.
  await measureFloor(p);
  const steps: (() => Promise<void>)[] = [
    async () => {
      full.push(await measureCompare(p, true));
    },
    async () => {
      plain.push(await measureCompare(p, false));
    },
    async () => {
      floor.push(await measureFloor(p));
    },
    async () => {
      floorOneGroup.push(await measureFloor(p, Number.MAX_SAFE_INTEGER));
    },
  ];
  for (let r = 0; r < reps; r++) {
    onStep(`${p.model.id} repetition ${r + 1}/${reps}`);
    for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]();
  }
  const id = p.model.id;
  const section = 'compare';
  const floorMs = floor.map((f) => f.totalMs);
  const target = { comparator: '<=' as const, value: 1.3, source: 'DESIGN.md §8' };
  const isTarget = id === 'udnie';
  const figures = [
    figure(
      { id: `compare.${id}.floor`, section, model: id, label: 'floor: float + quant runs, same taps, one read', unit: 's' },
      floorMs.map((m) => m / 1000),
    ),
    figure(
      { id: `compare.${id}.plain`, section, model: id, label: 'compare @all --no-own --no-achievable', unit: 's' },
      plain.map((c) => c.ms / 1000),
    ),
    figure(
      { id: `compare.${id}.full`, section, model: id, label: 'compare @all (own error, achievable)', unit: 's' },
      full.map((c) => c.ms / 1000),
    ),
    figure(
      {
        id: `compare.${id}.ratio-plain`,
        section,
        model: id,
        label: 'plain compare / floor',
        unit: 'x',
        target: isTarget ? target : null,
        note: isTarget ? 'the target applies to this ratio: the floor has no own-error or achievable run' : undefined,
      },
      ratios(
        plain.map((c) => c.ms),
        floorMs,
      ),
    ),
    figure(
      { id: `compare.${id}.ratio-full`, section, model: id, label: 'full compare / floor', unit: 'x' },
      ratios(
        full.map((c) => c.ms),
        floorMs,
      ),
    ),
    figure(
      {
        id: `compare.${id}.ratio-plain-one-group`,
        section,
        model: id,
        label: 'plain compare / floor in one group (one run per backend)',
        unit: 'x',
        note: 'what the memory grouping costs: the floor with every tap in a single run of each backend',
      },
      ratios(
        plain.map((c) => c.ms),
        floorOneGroup.map((f) => f.totalMs),
      ),
    ),
  ];
  return { figures, detail: { full, plain, floor, floorOneGroup } };
}
