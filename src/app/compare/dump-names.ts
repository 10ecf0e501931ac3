import { resolve } from 'node:path';
import { listDumpTensors, type DumpMap } from '../../store/dump-files.js';
import type { RunSide } from '../../store/manifest.js';
import { tensorFileName } from '../../store/file-names.js';
import { findRun } from '../../store/run-location.js';

/**
 * The tensors of two dump directories compared without a model: what each file's run manifest or
 * name says, merged so that the files of one tensor make one row.
 *
 * - A manifest entry, or a quantscope file name whose hash is that of its readable part, names its
 *   tensor exactly; any other base name is taken as the tensor's name as given.
 * - A quantscope file name `<sanitized>-<hash>` whose tensor name had characters replaced or was
 *   cut (`/Concat_output_0` is `_Concat_output_0-1d924a5d`) is identified by its whole base: the
 *   same base in the other directory is the same tensor, and so is the file name tensorFileName
 *   gives an exact name of the other directory. It is shown by its sanitized part, which also
 *   pairs it with a file named by the sanitized name alone. When two such tensors share the
 *   sanitized part, or an exact name equals it, each is shown by its whole base and nothing is
 *   paired by the sanitized part: a guess could pair two different tensors.
 * - Ascend-style files name a node and an output: shown as `node:output`, they pair with the
 *   other directory's file of the same node and output.
 * Files the user's map assigns to a tensor are left out (the map names them).
 */

export interface DumpNames {
  /** The reference's manifest order, its other names sorted, then the names only the test or the map has, sorted. */
  readonly names: readonly string[];
  /** The names that stand for a hashed file name, with the base that identifies it (DumpsOptions.fileBases). */
  readonly fileBases: ReadonlyMap<string, string>;
  /** The `node:output` names of Ascend-style files. */
  readonly ascend: ReadonlyMap<string, { readonly node: string; readonly outputIndex: number }>;
}

export interface DumpSource {
  readonly dir: string;
  /** The manifest side to read, when the directory's run has one. */
  readonly side: RunSide | undefined;
  /** The map entries whose files are in this directory. */
  readonly map: DumpMap;
}

type Entry =
  | { readonly kind: 'name'; readonly name: string; readonly exact: boolean }
  | { readonly kind: 'hashed'; readonly sanitized: string; readonly base: string }
  | { readonly kind: 'ascend'; readonly name: string; readonly node: string; readonly outputIndex: number };

/** A directory's entries: its run's manifest entries of `side` in manifest order, and every other file. */
function entriesOf(source: DumpSource): { listed: Entry[]; others: Entry[] } {
  const { dir, side, map } = source;
  const mapped = new Set(Object.values(map).map((e) => resolve(dir, typeof e === 'string' ? e : e.file)));
  const listed: Entry[] = (findRun(dir)?.entries ?? [])
    .filter((e) => side === undefined || e.backend === side)
    .map((e) => ({ kind: 'name', name: e.name, exact: true }));
  const others: Entry[] = [];
  for (const f of listDumpTensors(dir)) {
    if (f.backend !== undefined || mapped.has(resolve(dir, f.file))) continue;
    if (f.tensor !== null) {
      others.push(
        f.hash !== undefined && !f.exactName
          ? { kind: 'hashed', sanitized: f.tensor, base: `${f.tensor}-${f.hash}` }
          : { kind: 'name', name: f.tensor, exact: f.exactName },
      );
    } else if (f.node !== undefined && f.outputIndex !== undefined) {
      others.push({ kind: 'ascend', name: `${f.node}:${f.outputIndex}`, node: f.node, outputIndex: f.outputIndex });
    }
  }
  return { listed, others };
}

/** The names of the tensors in `ref` and `test` (see the module comment); `mapNames` are the map's tensors. */
export function dumpNames(ref: DumpSource, test: DumpSource, mapNames: readonly string[]): DumpNames {
  const refEntries = entriesOf(ref);
  const testEntries = entriesOf(test);
  const all = [...refEntries.listed, ...refEntries.others, ...testEntries.listed, ...testEntries.others];
  const exact = new Set(all.flatMap((e) => (e.kind === 'name' && e.exact ? [e.name] : [])));
  const exactByBase = new Map([...exact].map((n) => [tensorFileName(n), n]));
  const basesOf = new Map<string, Set<string>>();
  for (const e of all) {
    if (e.kind !== 'hashed' || exactByBase.has(e.base)) continue;
    basesOf.set(e.sanitized, (basesOf.get(e.sanitized) ?? new Set()).add(e.base));
  }
  const fileBases = new Map<string, string>();
  const ascend = new Map<string, { node: string; outputIndex: number }>();
  const shown = (e: Entry): string => {
    if (e.kind === 'name') return e.name;
    if (e.kind === 'ascend') {
      ascend.set(e.name, { node: e.node, outputIndex: e.outputIndex });
      return e.name;
    }
    const known = exactByBase.get(e.base);
    if (known !== undefined) return known;
    const name = basesOf.get(e.sanitized)?.size === 1 && !exact.has(e.sanitized) ? e.sanitized : e.base;
    fileBases.set(name, e.base);
    return name;
  };
  const refNames = [...refEntries.listed.map(shown), ...refEntries.others.map(shown).sort()];
  const known = new Set(refNames);
  const more = [...mapNames, ...testEntries.listed.map(shown), ...testEntries.others.map(shown)].filter((n) => !known.has(n));
  return { names: [...new Set([...refNames, ...[...new Set(more)].sort()])], fileBases, ascend };
}
