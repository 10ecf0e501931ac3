import { basename, resolve } from 'node:path';
import type { ComparisonReport, ComparisonRow } from '../../analysis/comparison.js';
import { adviseCompare, channelPeaks, explainInputDifference, type InputComparison, type InputDigest } from '../../analysis/advisor.js';
import { valueDistribution } from '../../analysis/distribution.js';
import { computeMetrics } from '../../analysis/metrics.js';
import { DumpsBackend, type DumpMatch } from '../../backends/dumps.js';
import { readDumpMap, type DumpMap } from '../../store/dump-files.js';
import { displayName } from '../../core/closest.js';
import { messageOf, UserError } from '../../core/errors.js';
import type { Graph } from '../../core/graph.js';
import { selectTensors } from '../../core/selector.js';
import type { Tensor } from '../../core/tensor.js';
import type { RunManifest, RunSide } from '../../store/manifest.js';
import { findRun, incompleteRunNote, type DumpRun } from '../../store/run-location.js';
import { readTensorFile, tensorFormatOf, TENSOR_FILE_EXTENSIONS } from '../../store/tensor-file.js';
import { allActivationTensors } from '../context.js';
import { dumpNames } from './dump-names.js';
import { adviceGraph, outputStats } from './compare-advice.js';
import {
  assembleReport,
  checkCancelled,
  criterionOf,
  gatePasses,
  passesCriterion,
  preparePlotPath,
  writePlots,
  writeReportJson,
  type Criterion,
} from './compare-report.js';
import { silent, type ProgressListener } from '../events.js';
import { loadModel } from '../load-model.js';
import { makeDirectory } from '../../store/directories.js';
import { isPolygraphyPath, polygraphyDumpDirectory } from '../../store/polygraphy-json.js';
import { pathExists } from '../../store/files.js';

export interface CompareDumpsOptions {
  /** The reference directory (typically the float run). */
  readonly refDir: string;
  /** The directory under test (typically a device dump). */
  readonly testDir: string;
  /** `--map`: a JSON map from tensor names to files (see readDumpMap); applied in each directory where its files exist. */
  readonly mapFile?: string;
  /** A model: rows get node names, op types and topological order, and Ascend-style files can be matched. */
  readonly modelPath?: string;
  /** Tap specs (with a model): compare these tensors, reporting any without files; default every tensor found. */
  readonly taps?: readonly string[];
  readonly metric?: string;
  readonly threshold?: number;
  /** `--peak` of the outputs' PSNR; default max |x| of each reference output. */
  readonly peak?: number;
  /** A directory to write report.json into. */
  readonly outDir?: string;
  readonly plot?: string;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface CompareDumpsResult {
  readonly report: ComparisonReport;
  /** False when an output (without a model: any row) fails or is not compared, and when no tensor could be compared. */
  readonly gatePasses: boolean;
  /** One sentence when no tensor could be compared: why, and what would match the files (the CLI exits 2 with it). */
  readonly nothingCompared: string | null;
  readonly plots: readonly string[];
  readonly reportFile: string | null;
}

interface Candidate {
  readonly name: string;
  readonly node: string;
  readonly opType: string;
  readonly index: number;
  /** Report the tensor even when neither directory has it (it was asked for by name). */
  readonly required: boolean;
}

/**
 * Reads `dir`'s manifest side for a role: the reference reads 'float', the test 'quant', when the
 * run holds it, or when the run was interrupted before writing any of it (its tensors are missing,
 * not the other side's); undefined leaves the choice to DumpsBackend (the only side present).
 */
function sideFor(dir: string, wanted: RunSide): RunSide | undefined {
  const run = findRun(dir);
  if (!run) return undefined;
  if (run.entries.some((e) => e.backend === wanted)) return wanted;
  return run.side === undefined && run.manifest.status === 'incomplete' ? wanted : undefined;
}

/** The map entries whose files exist in `dir`; an entry found in neither directory is an error. */
function mapsFor(map: DumpMap, file: string, dirs: readonly string[]): DumpMap[] {
  const out: Record<string, DumpMap[string]>[] = dirs.map(() => ({}));
  for (const [name, entry] of Object.entries(map)) {
    const rel = typeof entry === 'string' ? entry : entry.file;
    const found = dirs.map((d) => pathExists(resolve(d, rel)));
    if (!found.some(Boolean)) {
      throw new UserError(
        `The dump map '${displayName(file, 400)}' gives file '${displayName(rel, 400)}' for tensor '${displayName(name)}', but neither dump directory holds it.`,
      );
    }
    found.forEach((f, i) => {
      if (f) out[i][name] = entry;
    });
  }
  return out;
}

/** The graph input names the two directories' run manifests record. */
function manifestInputs(...dirs: string[]): string[] {
  return dirs.flatMap((d) => findRun(d)?.manifest.inputs.map((i) => i.name) ?? []);
}

/** Graph inputs both manifests record, with their sources and sha256 (what each run was fed). */
function inputDigests(ref: RunManifest | undefined, test: RunManifest | undefined): InputDigest[] {
  if (!ref || !test) return [];
  return ref.inputs.flatMap((r) => {
    const t = test.inputs.find((i) => i.name === r.name);
    return t ? [{ tensor: r.name, ref: { source: r.source, sha256: r.sha256 }, test: { source: t.source, sha256: t.sha256 } }] : [];
  });
}

function candidatesFromModel(graph: Graph, taps: readonly string[] | undefined): Candidate[] {
  const required = taps && taps.length > 0 ? new Set([...selectTensors(graph, taps), ...graph.outputs.map((o) => o.name)]) : null;
  return allActivationTensors(graph)
    .filter((t) => required === null || required.has(t))
    .map((t) => {
      const node = graph.producer.get(t);
      return { name: t, node: node?.name ?? '', opType: node?.opType ?? '', index: node?.index ?? -1, required: required !== null };
    });
}

/** Whether a matched file says its own dtype and shape (.npy, .pb, or given by a manifest or the map). */
function describes(m: DumpMatch): boolean {
  const format = tensorFormatOf(m.path);
  return format === 'npy' || format === 'pb' || m.dtype !== undefined || m.shape !== undefined;
}

/** Reads a matched file; raw and text files without a dtype or shape take the other side's. */
function readMatch(m: DumpMatch, other: Tensor | undefined): Tensor {
  if (describes(m) || !other) return readTensorFile(m.path, { dtype: m.dtype, shape: m.shape });
  return readTensorFile(m.path, { dtype: m.dtype ?? other.dtype, shape: m.shape ?? other.dims });
}

/**
 * Compares two directories of recorded tensors, one of which may come from a real device
 * (DESIGN.md §4, the dumps backend): files are matched to tensor names by manifest, name,
 * Ascend-style name or the user's map. With a model, rows carry node names, op types and
 * topological order; without one, they follow the reference manifest's order, else the names'
 * order. A tensor missing on one side, unreadable, of another size, or with NaN/Inf introduced is
 * reported in its row and the comparison goes on. Tensors are read one pair at a time.
 */
export async function compareDumps(options: CompareDumpsOptions): Promise<CompareDumpsResult> {
  const onProgress = options.onProgress ?? silent;
  const extracted: { remove: () => void }[] = [];
  try {
    const side = (value: string, flag: string): string => {
      if (!isPolygraphyPath(value)) return value;
      const p = polygraphyDumpDirectory(value);
      extracted.push(p);
      const { runner, runners, iterations, tensors } = p.outputs;
      onProgress({
        type: 'log',
        level: 'info',
        message: `${flag}: ${tensors.size} tensor(s) of Polygraphy runner '${runner}' (${runners.length > 1 ? `one of ${runners.length} runners; pick another with #NAME` : 'its only runner'}), iteration 1 of ${iterations}`,
      });
      return p.dir;
    };
    return await compareDumpDirectories({ ...options, refDir: side(options.refDir, '--ref'), testDir: side(options.testDir, '--test') });
  } finally {
    for (const p of extracted) p.remove();
  }
}

/** compareDumps on two directories (Polygraphy files already extracted into directories). */
async function compareDumpDirectories(options: CompareDumpsOptions): Promise<CompareDumpsResult> {
  const onProgress = options.onProgress ?? silent;
  const criterion = criterionOf(options.metric, options.threshold, options.peak ?? null);
  if (options.plot !== undefined) preparePlotPath(options.plot);
  for (const [flag, dir] of [
    ['--ref', options.refDir],
    ['--test', options.testDir],
  ] as const) {
    if (!pathExists(dir)) throw new UserError(`${flag} directory '${displayName(dir, 400)}' does not exist.`);
  }
  const loaded = options.modelPath !== undefined ? loadModel(options.modelPath) : undefined;
  if (!loaded && options.taps && options.taps.length > 0)
    throw new UserError('--taps selects tensors of a model; name the model to compare dump directories by taps.');
  const map = options.mapFile !== undefined ? readDumpMap(options.mapFile) : {};
  const [refMap, testMap] = mapsFor(map, options.mapFile ?? '', [options.refDir, options.testDir]);
  const refSide = sideFor(options.refDir, 'float');
  const testSide = sideFor(options.testDir, 'quant');

  let candidates: Candidate[];
  // The graph inputs, compared first: a difference there is upstream of every layer.
  const graphInputs = new Set(loaded ? loaded.graph.inputs.map((i) => i.name) : manifestInputs(options.refDir, options.testDir));
  const found = loaded
    ? undefined
    : dumpNames(
        { dir: options.refDir, side: refSide, map: refMap },
        { dir: options.testDir, side: testSide, map: testMap },
        Object.keys(map),
      );
  if (loaded) {
    candidates = candidatesFromModel(loaded.graph, options.taps);
  } else {
    const names = found?.names ?? [];
    candidates = [...names.filter((n) => graphInputs.has(n)), ...names.filter((n) => !graphInputs.has(n))].map((name, index) => ({
      name,
      node: '',
      opType: '',
      index,
      required: true,
    }));
  }
  const names = candidates.map((c) => c.name);
  const nodeOf = (t: string): { node: string; outputIndex: number } | undefined => {
    if (loaded) {
      const node = loaded.graph.producer.get(t);
      return node ? { node: node.name, outputIndex: node.outputs.indexOf(t) } : undefined;
    }
    return found?.ascend.get(t);
  };
  const outputs = loaded ? loaded.graph.outputs.map((o) => o.name) : [];
  const fileBases = found?.fileBases;
  const ref = await DumpsBackend.open(options.refDir, { names, map: refMap, side: refSide, nodeOf, outputs, fileBases });
  const test = await DumpsBackend.open(options.testDir, { names, map: testMap, side: testSide, nodeOf, outputs, fileBases });
  const incomplete = incompleteRunNotes([
    [options.refDir, ref.side ?? 'float'],
    [options.testDir, test.side ?? 'quant'],
  ]);
  for (const note of new Set(incomplete.values())) onProgress({ type: 'log', level: 'warn', message: note });
  const manifestNodes = new Map((ref.manifest?.tensors ?? []).filter((e) => e.backend === ref.side).map((e) => [e.name, e]));

  const rows: ComparisonRow[] = [];
  const images: { name: string; ref: Tensor; test: Tensor }[] = [];
  const inputs: InputComparison[] = [];
  const peaks = new Map<string, Float64Array>();
  let unmatched = 0;
  const missing = { ref: 0, test: 0 };
  /** Ascend-style names matched on one side only: which directories hold them. */
  const lonelyAscend = new Set<'--ref' | '--test'>();
  onProgress({ type: 'stage', stage: 'compare dumps', detail: `${candidates.length} candidate tensor(s)` });
  for (const [i, c] of candidates.entries()) {
    checkCancelled(options.signal, 'Compare');
    const rm = ref.matchOf(c.name);
    const tm = test.matchOf(c.name);
    if (!rm && !tm && !c.required) continue;
    const entry = manifestNodes.get(c.name);
    const base = { tensor: c.name, node: c.node || (entry?.node ?? ''), opType: c.opType || (entry?.opType ?? ''), index: c.index };
    const row = comparePair(base, rm, tm, options, criterion, outputs.includes(c.name));
    if (!rm || !tm) unmatched += 1;
    if (!rm) missing.ref += 1;
    if (!tm) missing.test += 1;
    if ((!rm || !tm) && found?.ascend.has(c.name)) lonelyAscend.add(rm ? '--ref' : '--test');
    rows.push(row.row);
    if (row.ref) {
      const p = channelPeaks(row.ref);
      if (p) peaks.set(c.name, p);
    }
    if (graphInputs.has(c.name) && row.ref && row.test) {
      inputs.push({
        tensor: c.name,
        refShape: row.ref.dims,
        testShape: row.test.dims,
        metrics: row.row.metrics,
        ...explainInputDifference(row.ref, row.test),
      });
    }
    if (outputs.includes(c.name) && row.ref && row.test) images.push({ name: c.name, ref: row.ref, test: row.test });
    onProgress({ type: 'progress', stage: 'compare dumps', done: i + 1, total: candidates.length });
  }
  if (unmatched > 0) onProgress({ type: 'log', level: 'warn', message: `${unmatched} tensor(s) have a file on one side only or none` });
  const ascendNote = lonelyAscend.size === 0 ? null : ascendHint([...lonelyAscend], options);
  const compared = rows.filter((r) => r.metrics !== null).length;
  if (ascendNote !== null && compared > 0)
    onProgress({ type: 'log', level: 'warn', message: `${ascendNote[0].toUpperCase()}${ascendNote.slice(1)}.` });

  const assembled = assembleReport({
    criterion,
    rows,
    outputs,
    ...(loaded ? { model: basename(loaded.path).replace(/\.onnx$/i, '') } : {}),
  });
  const report = {
    ...assembled,
    findings: adviseCompare(assembled, {
      inputs,
      inputDigests: inputDigests(ref.manifest, test.manifest),
      channelPeaks: peaks,
      outputStats: outputStats(new Map(images.map((i) => [i.name, i.ref]))),
      ...(loaded ? { graph: adviceGraph(loaded.graph) } : {}),
    }),
  };
  const plots = options.plot !== undefined ? await writePlots(options.plot, report, images) : [];
  let reportFile: string | null = null;
  if (options.outDir !== undefined) {
    makeDirectory(options.outDir, 'Output directory');
    reportFile = writeReportJson(options.outDir, report);
  }
  const nothingCompared = compared > 0 ? null : nothingComparedSentence({ rows: rows.length, missing, ascendNote, incomplete }, options);
  return { report, gatePasses: nothingCompared === null && gatePasses(report), plots, reportFile, nothingCompared };
}

function comparePair(
  base: Pick<ComparisonRow, 'tensor' | 'node' | 'opType' | 'index'>,
  rm: DumpMatch | undefined,
  tm: DumpMatch | undefined,
  options: CompareDumpsOptions,
  criterion: Criterion,
  isOutput: boolean,
): { row: ComparisonRow; ref?: Tensor; test?: Tensor } {
  const fail = (error: string, shape: readonly number[] = [], dtype = ''): { row: ComparisonRow } => ({
    row: { ...base, shape: [...shape], dtype, metrics: null, pass: false, error },
  });
  if (!rm && !tm) return fail('No file holds it in either directory.');
  if (!rm) return fail(`No file holds it in the reference directory '${displayName(options.refDir, 200)}'.`);
  if (!tm) return fail(`No file holds it in the test directory '${displayName(options.testDir, 200)}'.`);
  let x: Tensor | undefined;
  let y: Tensor | undefined;
  try {
    if (describes(rm) || !describes(tm)) {
      x = readMatch(rm, undefined);
      y = readMatch(tm, x);
    } else {
      y = readMatch(tm, undefined);
      x = readMatch(rm, y);
    }
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return fail(messageOf(error), x?.dims ?? y?.dims, x?.dtype ?? y?.dtype);
  }
  const shape = x.dims.length <= 1 && y.dims.length > 1 ? y.dims : x.dims;
  try {
    const metrics = computeMetrics(x, y);
    return {
      row: {
        ...base,
        shape: [...shape],
        dtype: x.dtype,
        metrics,
        distribution: valueDistribution(x, y, metrics),
        pass: passesCriterion(metrics, criterion, isOutput),
      },
      ref: x,
      test: y,
    };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    // The tensors go back too: two graph inputs of different sizes still tell the advisor why.
    return { ...fail(messageOf(error), shape, x.dtype), ref: x, test: y };
  }
}

/** Warnings for the runs among `dirs` whose manifests say incomplete, by the dump directory they are read through (one per run directory). */
function incompleteRunNotes(dirs: readonly (readonly [string, RunSide])[]): Map<string, string> {
  const runs = new Map<string, { run: DumpRun; sides: RunSide[]; dirs: string[] }>();
  for (const [dir, side] of dirs) {
    const run = findRun(dir);
    if (!run) continue;
    const key = resolve(run.root);
    const known = runs.get(key) ?? { run, sides: [], dirs: [] };
    known.sides.push(run.side ?? side);
    known.dirs.push(dir);
    runs.set(key, known);
  }
  const out = new Map<string, string>();
  for (const { run, sides, dirs: through } of runs.values()) {
    const note = incompleteRunNote(run, sides);
    if (note !== null) for (const d of through) out.set(d, note);
  }
  return out;
}

/**
 * What Ascend-style files left unpaired need, as a clause: they name nodes, and without the model
 * only a map ties them to tensor names (they pair by themselves only with Ascend-style files).
 */
function ascendHint(flags: readonly ('--ref' | '--test')[], options: CompareDumpsOptions): string {
  const where = flags.map((f) => `${f} '${displayName(f === '--ref' ? options.refDir : options.testDir, 200)}'`).join(' and ');
  const other = flags.length === 1 ? `the tensor names of ${flags[0] === '--ref' ? '--test' : '--ref'}` : 'tensor names';
  return `the Ascend-style files of ${where} name nodes, not tensors, so give the model (quantscope compare model.onnx --ref DIR --test DIR) or --map to match them to ${other}`;
}

interface Uncompared {
  readonly rows: number;
  /** Rows without a file in each directory. */
  readonly missing: { readonly ref: number; readonly test: number };
  readonly ascendNote: string | null;
  /** Incomplete-run warnings by dump directory. */
  readonly incomplete: ReadonlyMap<string, string>;
}

/** The sentence of a compare that compared no tensor (see CompareDumpsResult.nothingCompared). */
function nothingComparedSentence(u: Uncompared, options: CompareDumpsOptions): string {
  const { rows, missing, ascendNote } = u;
  const head = 'No tensor could be compared';
  if (ascendNote !== null) return `${head}: ${ascendNote}.`;
  const ref = `--ref '${displayName(options.refDir, 200)}'`;
  const test = `--test '${displayName(options.testDir, 200)}'`;
  if (missing.ref === rows && missing.test === rows) {
    return options.modelPath === undefined
      ? `${head}: neither ${ref} nor ${test} holds a tensor file (${TENSOR_FILE_EXTENSIONS.join(', ')}).`
      : `${head}: neither ${ref} nor ${test} holds a file of a tensor of '${displayName(options.modelPath, 200)}'.`;
  }
  for (const [empty, dir, shown, other] of [
    [missing.test, options.testDir, test, ref],
    [missing.ref, options.refDir, ref, test],
  ] as const) {
    if (empty < rows) continue;
    const why = u.incomplete.has(dir)
      ? ', as its run was stopped before it finished (see the warning above)'
      : `; if it names them differently, give ${options.modelPath === undefined ? 'the model or --map' : '--map'}`;
    return `${head}: ${shown} holds none of the ${rows} tensor(s) of ${other}${why}.`;
  }
  return `${head}: none of the ${rows} tensor(s) has a readable file of the same size in both ${ref} and ${test} (each row says why).`;
}
