import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayName } from '../core/closest.js';
import { dtypeInfo, type DType } from '../core/dtype.js';
import { InternalError, UserError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { safeJoin, tensorFileName } from './file-names.js';
import {
  MANIFEST_FILE,
  serializeManifest,
  toolVersion,
  type InputEntry,
  type RunManifest,
  type RunSide,
  type TensorEntry,
} from './manifest.js';
import { encodeTensorFile, readTensorFile } from './tensor-file.js';
import { makeDirectory } from './directories.js';

/**
 * A run directory being written (DESIGN.md §6):
 *
 *   <dir>/manifest.json   status 'incomplete' from the start, 'complete' after complete()
 *   <dir>/float/*.npy     reference tensors
 *   <dir>/quant/*.npy     quantized-backend tensors
 *
 * Tensors whose dtype numpy lacks (bfloat16, float8, 4-bit, string) are written as ONNX `.pb`.
 * Every file is written atomically; a tensor's manifest entry is added only after its file is in
 * place. The manifest is rewritten at most every `manifestIntervalMs` while tensors arrive (so
 * thousands of tensors do not rewrite it thousands of times), and always by flush() and complete().
 * Whatever happens, manifest.json is valid JSON; after an interruption it says 'incomplete' and
 * may list fewer tensors than the directory holds, never a tensor whose file is missing or partial.
 */

export interface RunInit {
  readonly model: { readonly path: string; readonly sha256: string };
  readonly inputs: readonly InputEntry[];
  readonly profile?: string | null;
  readonly plan?: unknown;
  readonly calibrationId?: string | null;
  readonly taps?: readonly string[];
  /** Default: the version in package.json. */
  readonly toolVersion?: string;
  /** Default: now. */
  readonly createdAt?: Date;
  /** fsync every file before renaming it; default true (see core/atomic-file.ts). */
  readonly fsync?: boolean;
  /** Longest time between manifest rewrites while tensors are added; default 500 ms (0: after every tensor). */
  readonly manifestIntervalMs?: number;
}

export type RunUpdate = Partial<Pick<RunManifest, 'inputs' | 'profile' | 'plan' | 'calibrationId' | 'taps'>>;

/** The producing node of a tensor, for the manifest. */
export interface TensorOrigin {
  readonly name: string;
  readonly opType: string;
}

export class RunDir {
  private manifestData: RunManifest;
  private readonly entries = new Map<string, TensorEntry>();
  private lastWrite = 0;
  private dirty = false;
  private done = false;

  private constructor(
    readonly path: string,
    manifest: RunManifest,
    private readonly fsync: boolean,
    private readonly intervalMs: number,
  ) {
    this.manifestData = manifest;
  }

  /**
   * Creates the directory (and float/, quant/) and writes an incomplete manifest at once. A
   * directory that already holds a manifest is refused: runs are never overwritten.
   */
  static create(dir: string, init: RunInit): RunDir {
    if (fs.existsSync(path.join(dir, MANIFEST_FILE))) {
      throw new UserError(`Run directory '${displayName(dir, 400)}' already holds a run; choose another run id or remove it.`);
    }
    makeDirectory(dir, 'Run directory');
    for (const side of ['float', 'quant']) makeDirectory(path.join(dir, side), 'Run directory');
    const manifest: RunManifest = {
      schemaVersion: 1,
      status: 'incomplete',
      tool: { name: 'quantscope', version: init.toolVersion ?? toolVersion() },
      createdAt: (init.createdAt ?? new Date()).toISOString(),
      model: { path: init.model.path, sha256: init.model.sha256 },
      inputs: init.inputs,
      profile: init.profile ?? null,
      plan: init.plan ?? null,
      calibrationId: init.calibrationId ?? null,
      taps: init.taps ?? [],
      tensors: [],
    };
    const run = new RunDir(dir, manifest, init.fsync ?? true, init.manifestIntervalMs ?? 500);
    run.flush();
    return run;
  }

  /** The manifest as it stands (including entries not yet flushed to disk). */
  get manifest(): RunManifest {
    return { ...this.manifestData, tensors: [...this.entries.values()] };
  }

  /** Changes run-level fields (taps, plan...); written with the next flush. */
  update(fields: RunUpdate): void {
    this.assertOpen();
    this.manifestData = { ...this.manifestData, ...fields };
    this.dirty = true;
  }

  /**
   * Writes one tensor of one backend: the file first (atomically), then its manifest entry.
   * Writing the same tensor of the same backend again replaces both.
   */
  writeTensor(backend: RunSide, name: string, tensor: Tensor, node?: TensorOrigin | null): TensorEntry {
    this.assertOpen();
    if (backend !== 'float' && backend !== 'quant') throw new InternalError(`unknown run side '${String(backend)}'`);
    const extension = dtypeInfo(tensor.dtype).numpy === null ? '.pb' : '.npy';
    const file = `${backend}/${tensorFileName(name, extension)}`;
    const target = safeJoin(this.path, file);
    this.write(target, encodeTensorFile(target, tensor, name));
    const entry: TensorEntry = {
      name,
      backend,
      file,
      shape: [...tensor.dims],
      dtype: tensor.dtype,
      node: node?.name ?? null,
      opType: node?.opType ?? null,
    };
    this.entries.set(`${backend}\0${name}`, entry);
    this.dirty = true;
    if (Date.now() - this.lastWrite >= this.intervalMs) this.flush();
    return entry;
  }

  /** Writes the manifest now if anything changed (status stays as it is). */
  flush(): void {
    if (!this.dirty && this.lastWrite !== 0) return;
    this.write(path.join(this.path, MANIFEST_FILE), serializeManifest(this.manifest));
    this.lastWrite = Date.now();
    this.dirty = false;
  }

  /** Marks the run complete and writes the manifest; no tensor can be added afterwards. */
  complete(): void {
    this.assertOpen();
    this.manifestData = { ...this.manifestData, status: 'complete' };
    this.dirty = true;
    this.flush();
    this.done = true;
  }

  /** Writes one file atomically; a file-system failure (ENOSPC, EACCES...) is reported naming the file. */
  private write(target: string, data: string | Uint8Array[]): void {
    try {
      writeFileAtomic(target, data, { fsync: this.fsync });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string') throw error;
      throw new UserError(`File '${displayName(target, 400)}' cannot be written (${code}).`, { cause: error });
    }
  }

  private assertOpen(): void {
    if (this.done) throw new InternalError(`run '${this.path}' is already complete`);
  }
}

/** Reads the tensor file of a manifest entry; its dtype and shape must be the ones the entry records. */
export function readRunTensor(dir: string, entry: TensorEntry): Tensor {
  return readTensorFile(safeJoin(dir, entry.file), { dtype: entry.dtype as DType, shape: entry.shape });
}
