import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTensor } from '../src/core/tensor.js';
import { readModel } from '../src/store/model-file.js';
import { readCalibrationTable } from '../src/store/calibration-file.js';
import { readPlanFile } from '../src/store/plan-file.js';
import { readManifest, type RunManifest } from '../src/store/manifest.js';
import { writeNpy } from '../src/store/npy.js';
import { readRunTensor } from '../src/store/run-dir.js';
import { findRun, incompleteRunNote } from '../src/store/run-location.js';
import { readTensorFile } from '../src/store/tensor-file.js';
import { rng } from './helpers/fuzz.js';
import { CLI, HAS_SHARED, REPO, SHARED, tempDir } from './helpers/cli.js';

/**
 * Interrupted runs (issue 8): real CLI processes killed at seeded random moments with SIGINT,
 * SIGTERM, a second signal (which quits at once) or SIGKILL. Whatever the moment, what is left on
 * disk is either a complete result or one whose manifest says incomplete; a file under a final
 * name is never truncated, and temporary files appear only under the documented temporary names
 * (`.<name>.tmp-<pid>-<8 hex>`, see core/atomic-file.ts), and only after a hard stop.
 */

const work = tempDir('qs-interrupt-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DEMO = path.join(REPO, 'models', 'demo-generator.onnx');
const UDNIE = path.join(SHARED, 'models', 'udnie.onnx');
const TEMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]{8}$/;

type Stop = 'SIGINT' | 'SIGTERM' | 'double' | 'SIGKILL';

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** The process ended before the signal was sent. */
  readonly finishedFirst: boolean;
  /** A hard stop: no chance to clean up (SIGKILL, the second signal, or a signal before the handlers were installed). */
  readonly hard: boolean;
}

/** Runs the CLI and stops it after `delayMs` as `stop` says (null: lets it finish). */
function interrupt(
  args: readonly string[],
  delayMs: number | null,
  stop: Stop,
  env: Record<string, string>,
): Promise<Outcome & { ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let exited = false;
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer =
      delayMs === null
        ? undefined
        : setTimeout(() => {
            if (exited) return;
            sent = true;
            if (stop === 'double') {
              child.kill('SIGINT');
              setTimeout(() => {
                if (!exited) child.kill('SIGINT');
              }, 30);
            } else {
              child.kill(stop);
            }
          }, delayMs);
    const guard = setTimeout(
      () => {
        child.kill('SIGKILL');
        reject(new Error(`quantscope ${args[0]} did not stop within 90 s of ${stop}`));
      },
      (delayMs ?? 0) + 90_000,
    );
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      clearTimeout(guard);
      const handled = stderr.includes('received; stopping after the current step');
      resolve({
        code,
        signal,
        stderr,
        ms: Date.now() - started,
        finishedFirst: !sent,
        hard: sent && (stop === 'SIGKILL' || stop === 'double' || !handled || signal !== null),
      });
    });
  });
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const child = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, child)).isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out;
}

const isTemp = (rel: string): boolean => TEMP_NAME.test(path.basename(rel));

/** Temporary files only after a hard stop, and only under the documented names. */
function checkTemps(found: readonly string[], o: Outcome, what: string): void {
  const temps = found.filter((f) => path.basename(f).includes('.tmp-'));
  if (!o.hard) expect(temps, `${what}: temporary files after a clean stop`).toEqual([]);
  for (const t of temps) expect(isTemp(t), `${what}: temporary file ${t}`).toBe(true);
}

/** The run-directory invariants (DESIGN.md §6); returns the manifest's status, or 'none'. */
function checkRunDir(dir: string, o: Outcome, what: string): RunManifest['status'] | 'none' {
  const found = files(dir);
  checkTemps(found, o, what);
  const finals = found.filter((f) => !isTemp(f));
  if (finals.includes('report.json')) JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  if (!finals.includes('manifest.json')) {
    // Stopped between creating the directory and writing the first manifest: nothing else may be there.
    expect(finals, `${what}: files without a manifest`).toEqual([]);
    return 'none';
  }
  const manifest = readManifest(dir);
  // Every listed file loads with the recorded dtype and shape; every other file under a final
  // name (written after the last manifest flush) is whole too.
  const listed = new Set(manifest.tensors.map((t) => t.file));
  for (const entry of manifest.tensors) expect(readRunTensor(dir, entry).dims).toEqual(entry.shape);
  for (const f of finals.filter((x) => /^(float|quant)\//.test(x) && !listed.has(x))) readTensorFile(path.join(dir, f));
  if (manifest.status === 'complete') expect(o.code, `${what}: complete manifest but exit ${o.code}`).toBe(0);
  if (o.code === 0) expect(manifest.status, `${what}: exit 0 with an incomplete manifest`).toBe('complete');
  // compare warns about an incomplete run, read as the run or through its float/ directory.
  for (const through of [dir, path.join(dir, 'float')]) {
    const run = findRun(through);
    expect(run?.root, `${what}: ${through} is not read as the run`).toBe(dir);
    const note = run ? incompleteRunNote(run, ['float', 'quant']) : null;
    if (manifest.status === 'complete') expect(note, `${what}: a warning for a complete run`).toBeNull();
    else
      expect(note ?? '', `${what}: no warning for an incomplete run`).toMatch(
        /^Run directory '.*' is incomplete: its run was stopped before it finished/,
      );
    if (note !== null) expect(note.includes(`'${dir}'`), `${what}: the warning does not name ${dir}`).toBe(true);
  }
  return manifest.status;
}

/** Calibration tables and statistics in the cache, and the --out table: whole JSON, valid tables. */
function checkCalibrationFiles(cache: string, out: string | undefined, o: Outcome, what: string): void {
  const found = files(cache);
  checkTemps(found, o, what);
  for (const f of found.filter((x) => !isTemp(x))) {
    const file = path.join(cache, f);
    if (f.startsWith('calibration/')) readCalibrationTable(file);
    else JSON.parse(readFileSync(file, 'utf8'));
  }
  if (out !== undefined) {
    checkTemps(
      files(path.dirname(out)).filter((f) => f.includes(path.basename(out))),
      o,
      what,
    );
    if (existsSync(out)) readCalibrationTable(out);
    if (o.code === 0) expect(existsSync(out), `${what}: exit 0 without ${out}`).toBe(true);
  }
}

/** Emitted files: the model is whole and verified-complete when present; the JSON files parse. */
function checkEmitted(modelFile: string, o: Outcome, what: string): void {
  const dir = path.dirname(modelFile);
  checkTemps(files(dir), o, what);
  const stem = modelFile.slice(0, -'.onnx'.length);
  const siblings = [`${stem}.quant.json`, `${stem}.manifest.json`];
  for (const s of siblings) if (existsSync(s)) JSON.parse(readFileSync(s, 'utf8'));
  if (existsSync(modelFile)) {
    readModel(modelFile);
    // The model is renamed into place last: its presence means the other two are there.
    for (const s of siblings) expect(existsSync(s), `${what}: ${s} missing beside the model`).toBe(true);
  } else {
    expect(o.code, `${what}: exit 0 without the model`).not.toBe(0);
  }
}

interface Case {
  readonly stop: Stop;
  /** Where in the command's working time the signal lands, from 0 (just started) to 1 (about done). */
  readonly at: number;
}

/** Seeded stop moments: each stop kind once, at a random point of the working time. */
function cases(seed: number, stops: readonly Stop[]): Case[] {
  const r = rng(seed);
  return stops.map((stop) => ({ stop, at: Math.round((0.05 + 0.9 * r()) * 100) / 100 }));
}

const tally: string[] = [];
afterAll(() => console.log(`interrupted runs: ${tally.length} cases\n  ${tally.join('\n  ')}`));

function record(command: string, what: string, o: Outcome, result: string): void {
  const how = o.signal
    ? `killed by ${o.signal}`
    : o.finishedFirst && !what.startsWith('uninterrupted')
      ? `finished first (exit ${o.code})`
      : `exit ${o.code}`;
  tally.push(`${command} ${what}: ${how}, ${result}`);
}

interface Command {
  readonly name: string;
  readonly seed: number;
  readonly stops: readonly Stop[];
  /** The arguments, writing under `dir`. */
  readonly args: (dir: string) => string[];
  /** Checks what is on disk under `dir`; returns a summary. */
  readonly check: (dir: string, o: Outcome, what: string) => string;
  /** Remove the case's files afterwards (large outputs). */
  readonly cleanUp?: boolean;
}

describe('interrupted runs leave complete or incomplete-marked results, never truncated files', { tags: ['slow'] }, () => {
  const calibDir = path.join(work, 'calib');
  mkdirSync(calibDir);
  for (let k = 0; k < 12; k++) {
    const d = new Float32Array(3 * 64 * 64);
    for (let i = 0; i < d.length; i++) d[i] = (Math.sin(i * 0.01 * (k + 1)) + 1) * 127.5;
    writeNpy(path.join(calibDir, `c${String(k).padStart(2, '0')}.npy`), makeTensor('float32', [1, 3, 64, 64], d), { fsync: false });
  }
  if (!HAS_SHARED) console.log(`../shared is absent (${SHARED}): the run cases use the demo model instead of udnie at 720x720`);

  const commands: Command[] = [
    {
      name: HAS_SHARED ? 'run (udnie 720 @all)' : 'run (demo @all, 1MB groups)',
      seed: 0x52554e,
      stops: ['SIGINT', 'SIGKILL'],
      args: (dir) => [
        'run',
        ...(HAS_SHARED
          ? [UDNIE, '--shape', 'inputImage=1x3x720x720', '--taps', '@all']
          : [DEMO, '--taps', '@all', '--backend', 'both', '--max-memory', '1MB']),
        '--out',
        dir,
      ],
      check: (dir, o, what) => `manifest ${checkRunDir(dir, o, what)}`,
      cleanUp: true,
    },
    {
      name: 'calibrate',
      seed: 0x43414c,
      stops: ['SIGINT', 'SIGTERM', 'SIGKILL'],
      args: (dir) => ['calibrate', DEMO, '--calib', `content=${calibDir}`, '--max-memory', '1MB', '--out', path.join(dir, 'table.json')],
      check: (dir, o, what) => {
        checkCalibrationFiles(path.join(dir, 'cache'), path.join(dir, 'table.json'), o, what);
        return existsSync(path.join(dir, 'table.json')) ? 'table written' : 'no table';
      },
    },
    {
      name: 'emit',
      seed: 0x454d49,
      stops: ['SIGINT', 'SIGTERM', 'double', 'SIGKILL'],
      args: (dir) => ['emit', DEMO, '--out', path.join(dir, 'out', 'demo.onnx')],
      check: (dir, o, what) => {
        checkEmitted(path.join(dir, 'out', 'demo.onnx'), o, what);
        checkCalibrationFiles(path.join(dir, 'cache'), undefined, o, what);
        return existsSync(path.join(dir, 'out', 'demo.onnx')) ? 'model written' : 'no model';
      },
    },
    {
      name: 'fix',
      seed: 0x464958,
      stops: ['SIGINT', 'SIGTERM', 'SIGKILL'],
      args: (dir) => ['fix', DEMO, '--out', path.join(dir, 'plan.json'), '--emit', path.join(dir, 'out', 'demo.onnx')],
      check: (dir, o, what) => {
        const plan = path.join(dir, 'plan.json');
        checkTemps(
          files(dir).filter((f) => !f.startsWith('cache/') && !f.startsWith('out/')),
          o,
          what,
        );
        if (existsSync(plan)) readPlanFile(plan);
        if (o.code === 0) expect(existsSync(plan), `${what}: exit 0 without the plan`).toBe(true);
        checkEmitted(path.join(dir, 'out', 'demo.onnx'), o, what);
        checkCalibrationFiles(path.join(dir, 'cache'), undefined, o, what);
        return `${existsSync(plan) ? 'plan' : 'no plan'}, ${existsSync(path.join(dir, 'out', 'demo.onnx')) ? 'model' : 'no model'}`;
      },
    },
    {
      name: 'compare',
      seed: 0x434d50,
      stops: ['SIGINT', 'double', 'SIGKILL'],
      args: (dir) => ['compare', DEMO, '--taps', '@all', '--max-memory', '1MB', '--out', path.join(dir, 'run')],
      check: (dir, o, what) => `manifest ${checkRunDir(path.join(dir, 'run'), o, what)}`,
    },
  ];

  /** How long Node takes to load the CLI (until the signal handlers can exist). */
  let startupMs = 0;
  beforeAll(async () => {
    startupMs = (await interrupt(['--version'], null, 'SIGINT', {})).ms;
  });

  describe.each(commands)('$name', (command) => {
    let fullMs = 0;
    let n = 0;
    const run = (stop: Stop, delayMs: number | null) => {
      const dir = path.join(work, `${command.name.split(' ')[0]}-${n++}`);
      mkdirSync(dir, { recursive: true });
      return { dir, outcome: interrupt([...command.args(dir), '--quiet'], delayMs, stop, { QUANTSCOPE_CACHE: path.join(dir, 'cache') }) };
    };

    it('finishes whole when left alone (and sets the time scale of the cases)', async () => {
      const { dir, outcome } = run('SIGINT', null);
      const o = await outcome;
      expect(o.code, o.stderr).toBe(0);
      record(command.name, `uninterrupted in ${o.ms} ms`, o, command.check(dir, o, `${command.name} uninterrupted`));
      fullMs = o.ms;
      if (command.cleanUp) rmSync(dir, { recursive: true, force: true });
    });

    it.each(cases(command.seed, command.stops))('stopped by $stop at $at of its working time', async (c) => {
      const delayMs = Math.round(startupMs + c.at * Math.max(0, fullMs - startupMs));
      const { dir, outcome } = run(c.stop, delayMs);
      const o = await outcome;
      const what = `${c.stop} at ${delayMs} ms`;
      record(command.name, what, o, command.check(dir, o, `${command.name} ${what}`));
      if (command.cleanUp) rmSync(dir, { recursive: true, force: true });
    });
  });

  it('the stop moments are seeded, so a failure replays', () => {
    expect(cases(1, ['SIGINT', 'SIGKILL'])).toEqual(cases(1, ['SIGINT', 'SIGKILL']));
  });
});
