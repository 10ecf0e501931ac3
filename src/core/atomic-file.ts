import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Atomic file writes, the one implementation for every file quantscope writes: the data goes to
 * a temporary file in the same directory (`.<name>.tmp-<pid>-<8 hex>`), is flushed to disk, and is
 * renamed over the target. A reader therefore sees the old file or the whole new one, never a
 * truncated file; an interrupted process leaves at most a temporary file, under a name that
 * `tempFileOwner` recognises and `removeStaleTempFiles` cleans up.
 *
 * It sits in core/ so that every layer that writes can use it: onnx/ (writeModel) sits beside
 * store/, not above it. It is the only module in src/ that writes files or renames them into
 * place (test/source-rules.test.ts holds that); the one exception is bench/rss-probe.ts, which is
 * preloaded into measured processes and writes a single number at exit with nothing else loaded.
 * Writers that must place several files together (store/emit-files.ts) stage each with
 * `writeTempFile` and put them in place with `renameTempFile`.
 */

export type FileData = string | Uint8Array | readonly Uint8Array[];

export interface AtomicWriteOptions {
  /**
   * Flush the file (and the directory entry after the rename) to disk before returning. Default
   * true. Without it the rename is still atomic for other processes, but a power loss may leave
   * an empty file.
   */
  readonly fsync?: boolean;
}

// `s`: a target name may hold a line break, and its temporary name must still be recognised.
const TEMP_PATTERN = /^\.(.+)\.tmp-(\d+)-[0-9a-f]{8}$/s;

/** The temporary path used while writing `target`. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * The id of the process that made a temporary name, when `name` (a file name, not a path) is one
 * that tempPathFor makes; undefined for any other name. staleTempFiles decides by this alone.
 */
export function tempFileOwner(name: string): number | undefined {
  const m = TEMP_PATTERN.exec(name);
  return m ? Number(m[2]) : undefined;
}

function chunksOf(data: FileData): readonly Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  return data;
}

/**
 * Writes `data` to a new temporary file beside `target` (flushed to disk unless `fsync` is false)
 * and returns its path; `renameTempFile` puts it in place, `removeTempFile` drops it. A failure
 * after the file was created removes it; the fs error is thrown as is.
 */
export function writeTempFile(target: string, data: FileData, options: AtomicWriteOptions = {}): string {
  const temp = tempPathFor(target);
  let fd: number | undefined = fs.openSync(temp, 'wx', 0o644);
  try {
    for (const chunk of chunksOf(data)) {
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
    }
    if (options.fsync ?? true) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return temp;
}

/** Renames a file written by writeTempFile over `target`, then flushes the directory entry unless `fsync` is false. */
export function renameTempFile(temp: string, target: string, options: AtomicWriteOptions = {}): void {
  fs.renameSync(temp, target);
  if (options.fsync ?? true) syncDirectory(path.dirname(target));
}

/** Removes a temporary file; one that was never created (its directory may not even exist) is fine. */
export function removeTempFile(temp: string): void {
  try {
    fs.rmSync(temp, { force: true });
  } catch (error) {
    if (!isCode(error, 'ENOTDIR')) throw error;
  }
}

/** Writes `data` to `target` atomically (see the module comment). Throws the fs error as is. */
export function writeFileAtomic(target: string, data: FileData, options: AtomicWriteOptions = {}): void {
  const temp = writeTempFile(target, data, options);
  try {
    renameTempFile(temp, target, options);
  } catch (error) {
    removeTempFile(temp);
    throw error;
  }
}

/** The asynchronous form of writeFileAtomic, for callers that must keep the event loop free. */
export async function writeFileAtomicAsync(target: string, data: FileData, options: AtomicWriteOptions = {}): Promise<void> {
  const fsync = options.fsync ?? true;
  const temp = tempPathFor(target);
  const handle = await fsp.open(temp, 'wx', 0o644);
  let closed = false;
  try {
    for (const chunk of chunksOf(data)) {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    }
    if (fsync) await handle.sync();
    await handle.close();
    closed = true;
    await fsp.rename(temp, target);
  } catch (error) {
    if (!closed) await handle.close();
    await fsp.rm(temp, { force: true });
    throw error;
  }
  if (fsync) syncDirectory(path.dirname(target));
}

/**
 * Flushes a directory entry (the rename) to disk. Some platforms cannot open a directory for
 * syncing (Windows: EISDIR/EPERM); the rename itself is still atomic there, so those codes are
 * accepted and anything else is thrown.
 */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (error) {
    if (isCode(error, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw error;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!isCode(error, 'EINVAL', 'EPERM', 'EISDIR', 'ENOTSUP')) throw error;
  } finally {
    fs.closeSync(fd);
  }
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '');
}

/** Whether a process with this id is running (a process we may not signal counts as running). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}

/** The temporary files in `dir` left by writes of processes that are no longer running. */
export function staleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw error;
  }
  const stale: string[] = [];
  for (const name of names) {
    const owner = tempFileOwner(name);
    if (owner !== undefined && !processAlive(owner)) stale.push(path.join(dir, name));
  }
  return stale;
}

/**
 * Removes the temporary files that interrupted writes of dead processes left in `dir` (not
 * recursive; files of running processes are kept because they may still be writing). Returns the
 * removed paths.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const stale = staleTempFiles(dir);
  for (const file of stale) fs.rmSync(file, { force: true });
  return stale;
}
