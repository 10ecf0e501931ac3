import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../src/core/errors.js';
import { mulberry32 } from '../../src/models/random.js';

/**
 * Seeded mutation fuzzing for the file readers (issue 8). A case is a mutated copy of a valid
 * input; the reader under test may accept it (the mutation happened to give a valid file) or
 * reject it with a UserError whose message is one clean sentence. Anything else fails the case,
 * as does a case that allocates far more than its input justifies or runs too long. Every failure
 * names the fuzz target, the seed, the case index and the mutation, so it can be replayed alone.
 */

export type Random = () => number;

export function rng(seed: number): Random {
  return mulberry32(seed);
}

/** An integer in [lo, hi]. */
export function int(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

// ---- Byte mutations -----------------------------------------------------------------------

export interface Mutated<T> {
  readonly value: T;
  /** Which mutation made it, for the failure message. */
  readonly kind: string;
}

/** A protobuf varint (up to 10 bytes) of a non-negative integer given as a bigint. */
export function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

function splice(bytes: Uint8Array, at: number, count: number, insert: ArrayLike<number>): Uint8Array {
  const remove = Math.max(0, Math.min(count, bytes.length - at));
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

type ByteMutation = (bytes: Uint8Array, random: Random) => Uint8Array;

const BYTE_MUTATIONS: Readonly<Record<string, ByteMutation>> = {
  truncate: (b, r) => b.slice(0, int(r, 0, Math.max(0, b.length - 1))),
  'bit-flip': (b, r) => {
    const out = b.slice();
    const flips = int(r, 1, 8);
    for (let i = 0; i < flips && out.length > 0; i++) out[int(r, 0, out.length - 1)] ^= 1 << int(r, 0, 7);
    return out;
  },
  'byte-set': (b, r) => {
    const out = b.slice();
    if (out.length > 0) out[int(r, 0, out.length - 1)] = pick(r, [0x00, 0xff, 0x7f, 0x80, int(r, 0, 255)]);
    return out;
  },
  'insert-random': (b, r) =>
    splice(
      b,
      int(r, 0, b.length),
      0,
      Array.from({ length: int(r, 1, 16) }, () => int(r, 0, 255)),
    ),
  'delete-range': (b, r) => {
    const at = int(r, 0, Math.max(0, b.length - 1));
    return splice(b, at, Math.min(b.length - at, int(r, 1, 64)), []);
  },
  'duplicate-range': (b, r) => {
    const at = int(r, 0, Math.max(0, b.length - 1));
    const piece = b.slice(at, at + int(r, 1, 256));
    return splice(b, int(r, 0, b.length), 0, piece);
  },
  'huge-varint': (b, r) => {
    const at = int(r, 0, Math.max(0, b.length - 1));
    const value = BigInt(pick(r, [2 ** 31, 2 ** 32 - 1, 2 ** 40, 2 ** 53])) + BigInt(int(r, 0, 3));
    return splice(b, at, Math.min(b.length - at, int(r, 1, 4)), varint(pick(r, [value, (1n << 63n) + 5n, (1n << 64n) - 1n])));
  },
  'zero-range': (b, r) => {
    const out = b.slice();
    const at = int(r, 0, Math.max(0, out.length - 1));
    out.fill(0, at, at + int(r, 1, 64));
    return out;
  },
};

/** One random byte-level mutation: truncation, bit flips, inserted or deleted bytes, huge varints. */
export function mutateBytes(bytes: Uint8Array, random: Random): Mutated<Uint8Array> {
  const kind = pick(random, Object.keys(BYTE_MUTATIONS));
  return { value: BYTE_MUTATIONS[kind](bytes, random), kind };
}

// ---- Protobuf wire-format mutations -------------------------------------------------------

/** A field found in protobuf bytes: where its key and (for length-delimited fields) its length sit. */
export interface WireField {
  readonly keyAt: number;
  readonly keyLength: number;
  readonly fieldNumber: number;
  readonly wireType: number;
  /** Length-delimited fields only. */
  readonly lengthAt?: number;
  readonly lengthBytes?: number;
  readonly dataAt: number;
  readonly dataEnd: number;
}

function readVarint(bytes: Uint8Array, at: number): { value: bigint; length: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= bytes.length) return undefined;
    const b = bytes[at + i];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/**
 * The fields of a protobuf message, recursively into length-delimited fields that themselves parse
 * as whole messages (best effort: a string that happens to parse is walked too). Stops at
 * `limit` fields so a large model stays cheap.
 */
export function wireFields(bytes: Uint8Array, limit = 20_000): WireField[] {
  const out: WireField[] = [];
  const walk = (start: number, end: number, depth: number): boolean => {
    const found: WireField[] = [];
    let at = start;
    while (at < end) {
      const key = readVarint(bytes, at);
      if (!key || key.value === 0n) return false;
      const fieldNumber = Number(key.value >> 3n);
      const wireType = Number(key.value & 7n);
      const keyAt = at;
      at += key.length;
      if (wireType === 0) {
        const v = readVarint(bytes, at);
        if (!v) return false;
        found.push({ keyAt, keyLength: key.length, fieldNumber, wireType, dataAt: at, dataEnd: at + v.length });
        at += v.length;
      } else if (wireType === 1 || wireType === 5) {
        const n = wireType === 1 ? 8 : 4;
        if (at + n > end) return false;
        found.push({ keyAt, keyLength: key.length, fieldNumber, wireType, dataAt: at, dataEnd: at + n });
        at += n;
      } else if (wireType === 2) {
        const len = readVarint(bytes, at);
        if (!len || at + len.length + Number(len.value) > end) return false;
        const dataAt = at + len.length;
        const dataEnd = dataAt + Number(len.value);
        found.push({ keyAt, keyLength: key.length, fieldNumber, wireType, lengthAt: at, lengthBytes: len.length, dataAt, dataEnd });
        at = dataEnd;
      } else {
        return false;
      }
    }
    for (const f of found) {
      if (out.length >= limit) return true;
      out.push(f);
      if (f.wireType === 2 && depth < 12 && f.dataEnd > f.dataAt) walk(f.dataAt, f.dataEnd, depth + 1);
    }
    return true;
  };
  walk(0, bytes.length, 0);
  return out;
}

type WireMutation = (bytes: Uint8Array, fields: readonly WireField[], random: Random) => Uint8Array;

const lengthFields = (fields: readonly WireField[]) => fields.filter((f) => f.lengthAt !== undefined);

const WIRE_MUTATIONS: Readonly<Record<string, WireMutation>> = {
  /** A length field claims far more bytes than follow. */
  'length-huge': (b, fields, r) => {
    const f = pick(r, lengthFields(fields));
    const value = BigInt(pick(r, [2 ** 31 - 1, 2 ** 32 + 7, 2 ** 53, 1e12]));
    return splice(b, f.lengthAt as number, f.lengthBytes as number, varint(value));
  },
  /** A length field off by a little, so the message boundary lands inside the next field. */
  'length-off': (b, fields, r) => {
    const f = pick(r, lengthFields(fields));
    const len = f.dataEnd - f.dataAt + pick(r, [-2, -1, 1, 2, 7]);
    return splice(b, f.lengthAt as number, f.lengthBytes as number, varint(BigInt(Math.max(0, len))));
  },
  /** A field's wire type changed (a message read as a varint, a number as bytes...). */
  'wire-type': (b, fields, r) => {
    const f = pick(r, fields);
    const wireType = pick(
      r,
      [0, 1, 2, 5, 3, 4, 6, 7].filter((w) => w !== f.wireType),
    );
    return splice(b, f.keyAt, f.keyLength, varint((BigInt(f.fieldNumber) << 3n) | BigInt(wireType)));
  },
  /** A field renumbered: the same bytes land in another field of another type. */
  'field-number': (b, fields, r) => {
    const f = pick(r, fields);
    const number = pick(r, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 20, 25, 536870911]);
    return splice(b, f.keyAt, f.keyLength, varint((BigInt(number) << 3n) | BigInt(f.wireType)));
  },
  /** A varint value set huge or negative (dims, data types, versions, enum values). */
  'varint-value': (b, fields, r) => {
    const varints = fields.filter((f) => f.wireType === 0);
    if (varints.length === 0) return b;
    const f = pick(r, varints);
    const value = pick(r, [0n, 1n, 255n, 1n << 31n, 1n << 32n, 1n << 53n, (1n << 63n) - 1n, -1n, -(1n << 40n), BigInt(int(r, 0, 40))]);
    return splice(b, f.dataAt, f.dataEnd - f.dataAt, varint(value));
  },
  /** A field dropped; enclosing lengths are left as they were, so parents now overrun. */
  'drop-field': (b, fields, r) => {
    const f = pick(r, fields);
    return splice(b, f.keyAt, f.dataEnd - f.keyAt, []);
  },
  /** A whole field repeated right after itself (a second graph, a repeated dim...). */
  'repeat-field': (b, fields, r) => {
    const f = pick(r, fields);
    if (f.dataEnd - f.keyAt > 1 << 20) return b;
    return splice(b, f.dataEnd, 0, b.slice(f.keyAt, f.dataEnd));
  },
  /** The bytes of a length-delimited field cut short (its length still claims the old size). */
  'cut-inside': (b, fields, r) => {
    const f = pick(r, lengthFields(fields));
    if (f.dataEnd === f.dataAt) return b;
    return splice(b, int(r, f.dataAt, f.dataEnd - 1), int(r, 1, f.dataEnd - f.dataAt), []);
  },
};

/** One random wire-level mutation of protobuf bytes, else a byte mutation when the bytes have no fields. */
export function mutateProtobuf(bytes: Uint8Array, random: Random, fields: readonly WireField[] = wireFields(bytes)): Mutated<Uint8Array> {
  if (fields.length === 0 || lengthFields(fields).length === 0) return mutateBytes(bytes, random);
  const kind = pick(random, Object.keys(WIRE_MUTATIONS));
  return { value: WIRE_MUTATIONS[kind](bytes, fields, random), kind: `wire:${kind}` };
}

// ---- JSON and text mutations ---------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Replacement values of the wrong type or range for any JSON position. */
function wrongValue(random: Random): Json {
  return pick<() => Json>(random, [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1e308,
    () => -1e308,
    () => 2 ** 53 + 2,
    () => 0.5,
    () => '',
    () => 'x',
    () => '../../etc/passwd',
    () => '\u001b[31mred\u0000',
    () => 'L'.repeat(10_000),
    () => [],
    () => [1, 'a', null],
    () => ({}),
    () => ({ __proto__: 1, constructor: 'x' }),
    () => nested(int(random, 10, 400)),
    () => Array.from({ length: 1000 }, (_, i) => i),
  ])();
}

function nested(depth: number): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

interface JsonSlot {
  readonly parent: Json[] | { [key: string]: Json };
  readonly key: string | number;
}

function slotsOf(value: Json, out: JsonSlot[] = [], depth = 0): JsonSlot[] {
  if (depth > 20 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ parent: value, key: i });
      slotsOf(v, out, depth + 1);
    });
  } else {
    for (const k of Object.keys(value)) {
      out.push({ parent: value, key: k });
      slotsOf(value[k], out, depth + 1);
    }
  }
  return out;
}

/**
 * One structural mutation of a JSON document: a value replaced by one of the wrong type or range,
 * a key removed, renamed or added, an array emptied or its element duplicated.
 */
export function mutateJsonValue(doc: unknown, random: Random): Mutated<unknown> {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const slots = slotsOf(copy);
  if (slots.length === 0) return { value: wrongValue(random), kind: 'json:root' };
  const slot = pick(random, slots);
  const parent = slot.parent as Record<string | number, Json>;
  const kind = pick(random, ['replace', 'replace', 'replace', 'delete', 'rename', 'add-key', 'empty', 'duplicate']);
  switch (kind) {
    case 'replace':
      parent[slot.key] = wrongValue(random);
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(slot.key as number, 1);
      else delete parent[slot.key];
      break;
    case 'rename':
      if (!Array.isArray(parent)) {
        parent[pick(random, ['__proto__', 'constructor', '\u001b]0;t\u0007', `${String(slot.key)}x`, ''])] = parent[slot.key];
        delete parent[slot.key];
      }
      break;
    case 'add-key':
      if (!Array.isArray(parent)) parent[pick(random, ['extra', '$comment', 'toString', '__proto__'])] = wrongValue(random);
      break;
    case 'empty':
      parent[slot.key] = Array.isArray(parent[slot.key]) ? [] : {};
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.push(JSON.parse(JSON.stringify(parent[slot.key])) as Json);
      break;
  }
  return { value: copy, kind: `json:${kind}` };
}

/** A JSON document as text after a structural mutation, or its text after a byte mutation. */
export function mutateJsonText(doc: unknown, random: Random): Mutated<string> {
  if (random() < 0.7) {
    const m = mutateJsonValue(doc, random);
    return { value: JSON.stringify(m.value, null, random() < 0.5 ? 2 : undefined) ?? 'null', kind: m.kind };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(doc, null, 2));
  const m = mutateBytes(bytes, random);
  return { value: new TextDecoder().decode(m.value), kind: `bytes:${m.kind}` };
}

// ---- The harness ---------------------------------------------------------------------------

export interface FuzzCase {
  /** Bytes of the mutated input, for the allocation bound. */
  readonly size: number;
  readonly kind: string;
  /** More about the mutation for a failure message (the kind is what the report counts). */
  readonly detail?: string;
  /** Runs the reader; returns normally when it accepted the input. */
  readonly run: () => void;
}

export interface FuzzReport {
  readonly target: string;
  readonly cases: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Cases per mutation kind. */
  readonly kinds: Readonly<Record<string, number>>;
  readonly slowestMs: number;
  readonly largestAllocation: number;
}

export interface FuzzOptions {
  readonly target: string;
  readonly seed: number;
  readonly cases: number;
  /** Stop early (still counting what ran) after this long; default no limit. */
  readonly timeBudgetMs?: number;
  /** A case may take this long; default 2 s. */
  readonly caseLimitMs?: number;
  /** A case may allocate this many ArrayBuffer bytes beyond `allocationFactor` x its input; default 64 MiB. */
  readonly allocationSlack?: number;
  readonly allocationFactor?: number;
}

/**
 * A clear sentence: starts with a capital letter, a quote or a flag, ends with a full stop, and
 * holds no raw control character (names are shown escaped) and no more than 2,000 characters.
 */
export function sentenceProblem(message: string): string | undefined {
  if (message.length === 0) return 'it is empty';
  if (message.length > 2000) return `it is ${message.length} characters long`;
  if (/[\u0000-\u001f\u007f-\u009f]/u.test(message)) return 'it holds a raw control character';
  if (!/^[A-Z'"-]/.test(message)) return 'it does not start like a sentence';
  if (!/[.?!]$/.test(message)) return 'it does not end with a full stop';
  return undefined;
}

/**
 * Runs `options.cases` cases made by `make` from one seeded generator. Throws at the first case
 * that throws anything but a UserError, gives a UserError that is not a clean sentence, runs over
 * the time limit, or allocates more than its input justifies.
 */
export async function fuzz(options: FuzzOptions, make: (random: Random, index: number) => FuzzCase): Promise<FuzzReport> {
  const random = rng(options.seed);
  const limit = options.caseLimitMs ?? 2000;
  const slack = options.allocationSlack ?? 64 * 1024 * 1024;
  const factor = options.allocationFactor ?? 16;
  const kinds: Record<string, number> = {};
  let accepted = 0;
  let rejected = 0;
  let slowest = 0;
  let largest = 0;
  const started = Date.now();
  const watchdog = await Watchdog.start(Math.max(10_000, limit * 5));
  let i = 0;
  try {
    for (; i < options.cases; i++) {
      if (options.timeBudgetMs !== undefined && Date.now() - started > options.timeBudgetMs) break;
      const c = make(random, i);
      kinds[c.kind] = (kinds[c.kind] ?? 0) + 1;
      const where = `${options.target} case ${i} (seed ${options.seed}, mutation ${c.detail ?? c.kind})`;
      const before = process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      watchdog.enter(`${where}`);
      try {
        c.run();
        accepted++;
      } catch (error) {
        if (!(error instanceof UserError)) {
          const e = error as Error;
          throw new Error(`${where} threw ${e?.name ?? typeof error} instead of a UserError: ${e?.stack ?? String(error)}`, {
            cause: error,
          });
        }
        const problem = sentenceProblem(error.message);
        if (problem)
          throw new Error(
            `${where}: the UserError message is not a clear sentence (${problem}): ${JSON.stringify(error.message.slice(0, 300))}`,
            { cause: error },
          );
        rejected++;
      } finally {
        watchdog.leave();
      }
      const ms = performance.now() - t0;
      const grown = process.memoryUsage().arrayBuffers - before;
      if (ms > slowest) slowest = ms;
      if (grown > largest) largest = grown;
      if (ms > limit) throw new Error(`${where} took ${ms.toFixed(0)} ms (limit ${limit} ms).`);
      if (grown > slack + factor * c.size) {
        throw new Error(`${where} allocated ${grown} bytes for an input of ${c.size} bytes.`);
      }
    }
  } finally {
    watchdog.stop();
  }
  return { target: options.target, cases: i, accepted, rejected, kinds, slowestMs: slowest, largestAllocation: largest };
}

/**
 * A hang detector. A synchronous reader stuck in a loop blocks the test's own timers, so the
 * watch runs on a worker thread that shares a clock slot with this one; when a case stays open
 * past the limit it writes the case to stderr (synchronously) and kills the test process, which
 * the test runner reports as a failure instead of waiting forever.
 */
class Watchdog {
  private static readonly encoder = new TextEncoder();
  private constructor(
    private readonly worker: Worker,
    private readonly clock: Float64Array,
    private readonly label: Uint8Array,
  ) {}

  /** Resolves once the worker is watching: a worker cannot start while this thread is busy. */
  static async start(limitMs: number): Promise<Watchdog> {
    const shared = new SharedArrayBuffer(8 + 4 + 500);
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { writeSync } = require('node:fs');
      const clock = new Float64Array(workerData.shared, 0, 1);
      const length = new Uint32Array(workerData.shared, 8, 1);
      const label = new Uint8Array(workerData.shared, 12);
      setInterval(() => {
        const since = clock[0];
        if (since > 0 && Date.now() - since > workerData.limitMs) {
          const name = Buffer.from(label.slice(0, length[0])).toString('utf8');
          writeSync(2, '\\nfuzz watchdog: ' + name + ' has run for over ' + workerData.limitMs + ' ms; killing the test process\\n');
          process.kill(process.pid, 'SIGKILL');
        }
      }, 250);
      parentPort.postMessage('ready');`;
    const worker = new Worker(source, { eval: true, workerData: { shared, limitMs } });
    await once(worker, 'message');
    worker.unref();
    return new Watchdog(worker, new Float64Array(shared, 0, 1), new Uint8Array(shared, 8));
  }

  enter(name: string): void {
    const { written } = Watchdog.encoder.encodeInto(name, this.label.subarray(4));
    new DataView(this.label.buffer, 8, 4).setUint32(0, written, true);
    this.clock[0] = Date.now();
  }

  leave(): void {
    this.clock[0] = 0;
  }

  stop(): void {
    this.clock[0] = 0;
    void this.worker.terminate();
  }
}

/** One line per fuzz report, printed by the tests so the case counts show in the test log. */
export function describeReport(r: FuzzReport): string {
  const kinds = Object.entries(r.kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `${r.target}: ${r.cases} cases, ${r.accepted} accepted, ${r.rejected} rejected with a UserError; slowest ${r.slowestMs.toFixed(1)} ms, largest allocation ${(r.largestAllocation / 1024 / 1024).toFixed(1)} MiB [${kinds}]`;
}
