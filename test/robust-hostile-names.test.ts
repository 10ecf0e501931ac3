import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/models/builder.js';
import { HOSTILE_NAMES } from '../src/models/fixtures-basic.js';
import { createModel, writeModel } from '../src/onnx/index.js';
import { sanitizeName } from '../src/store/file-names.js';
import { readManifest } from '../src/store/manifest.js';
import { readRunTensor } from '../src/store/run-dir.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';

/**
 * Hostile tensor and node names through the real CLI (fixtures/hostile-names.onnx: `../`, a
 * leading `/`, a backslash, NUL, terminal escapes, 10,000 characters). Files must stay inside the
 * run directory, and nothing a model names may reach the terminal raw: every name is shown escaped.
 */

const MODEL = path.join(REPO, 'fixtures', 'hostile-names.onnx');
const work = tempDir('qs-hostile-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u;

/** Every path under `dir`, relative. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const child = rel === '' ? name : `${rel}/${name}`;
    out.push(child);
    if (statSync(path.join(dir, child)).isDirectory()) out.push(...walk(dir, child));
  }
  return out;
}

describe('hostile names through the CLI', () => {
  it('inspect shows every name escaped, with no raw control character; piped, a hostile length is cut at 4,096 characters with its length', async () => {
    const r = await runCliInProcess(['inspect', MODEL]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain('\\x1b[31mred\\x1b[0m');
    expect(r.stdout).toContain('\\x1b]0;title\\x07');
    expect(r.stdout).toContain('nul\\x00node');
    expect(r.stdout).toContain(`${'L'.repeat(4096)}…(10000 chars)`);
    expect(r.stdout).not.toContain('L'.repeat(4097));
  });

  it('inspect --json keeps the exact names, JSON-escaped', async () => {
    const r = await runCliInProcess(['inspect', MODEL, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    const json = JSON.parse(r.stdout) as { nodes: { name: string; outputs: string[] }[] };
    const names = json.nodes.flatMap((n) => [n.name, ...n.outputs]);
    for (const name of [HOSTILE_NAMES.conv, HOSTILE_NAMES.convOut, HOSTILE_NAMES.mul, HOSTILE_NAMES.mulOut, HOSTILE_NAMES.output]) {
      expect(names).toContain(name);
    }
  });

  it('run --taps @all writes every tensor inside the run directory, under a safe name', async () => {
    const cwd = tempDir('qs-hostile-cwd-');
    try {
      const out = path.join(cwd, 'run');
      const r = await runCliInProcess(['run', MODEL, '--taps', '@all', '--out', out], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(RAW_CONTROL);
      // Nothing beside the run directory, and inside it only the documented layout.
      expect(readdirSync(cwd)).toEqual(['run']);
      for (const rel of walk(out)) {
        expect(rel).toMatch(/^(manifest\.json|float|quant|(float|quant)\/[A-Za-z0-9_][A-Za-z0-9._-]{0,99}-[0-9a-f]{8}\.(npy|pb))$/);
      }
      const manifest = readManifest(out);
      expect(manifest.status).toBe('complete');
      expect(manifest.tensors.map((t) => t.name).sort()).toEqual(
        [HOSTILE_NAMES.reluOut, HOSTILE_NAMES.convOut, HOSTILE_NAMES.mulOut, HOSTILE_NAMES.output].sort(),
      );
      for (const entry of manifest.tensors) expect(readRunTensor(out, entry).dims).toEqual([1, 2, 4, 4]);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('compare reads back every file run wrote, copied out of the run without its manifest', async () => {
    const cwd = tempDir('qs-hostile-copy-');
    try {
      const run = path.join(cwd, 'run');
      const made = await runCliInProcess(['run', MODEL, '--taps', '@all', '--backend', 'both', '--out', run, '--quiet'], {
        env: { QUANTSCOPE_CACHE: path.join(cwd, 'cache') },
      });
      expect(made.code, made.stderr).toBe(0);
      for (const side of ['float', 'quant']) cpSync(path.join(run, side), path.join(cwd, 'copy', side), { recursive: true });
      const dirs = ['--ref', path.join(cwd, 'copy', 'float'), '--test', path.join(cwd, 'copy', 'quant')];
      const bare = await runCliInProcess(['compare', ...dirs, '--json']);
      expect(bare.code, bare.stderr).toBe(0);
      expect(bare.stdout + bare.stderr).not.toMatch(RAW_CONTROL);
      const rows = (JSON.parse(bare.stdout) as { rows: { tensor: string; metrics: unknown }[] }).rows;
      // Without the model, each tensor is shown by the readable part of its file name.
      expect(rows.map((r) => r.tensor).sort()).toEqual(
        [HOSTILE_NAMES.reluOut, HOSTILE_NAMES.convOut, HOSTILE_NAMES.mulOut, HOSTILE_NAMES.output].map((n) => sanitizeName(n)).sort(),
      );
      expect(rows.every((r) => r.metrics !== null)).toBe(true);
      const named = await runCliInProcess(['compare', MODEL, ...dirs, '--json']);
      expect(named.code, named.stderr).toBe(0);
      const exact = (JSON.parse(named.stdout) as { rows: { tensor: string; metrics: unknown }[] }).rows;
      expect(exact.map((r) => r.tensor)).toEqual([
        HOSTILE_NAMES.reluOut,
        HOSTILE_NAMES.convOut,
        HOSTILE_NAMES.mulOut,
        HOSTILE_NAMES.output,
      ]);
      expect(exact.every((r) => r.metrics !== null)).toBe(true);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('an unknown tap containing escape sequences is reported escaped', async () => {
    const tap = '\u001b[31mnope\u001b]0;pwned\u0007\u001b[2J';
    const r = await runCliInProcess(['run', MODEL, '--taps', tap, '--out', path.join(work, 'unknown-tap')]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain('\\x1b[31mnope\\x1b]0;pwned\\x07\\x1b[2J');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('op types, domains and the producer from the file are shown escaped too', async () => {
    const file = path.join(work, 'hostile-op.onnx');
    writeModel(
      createModel({
        name: 'op',
        opsets: { '': 13, '\u001b[31mdom': 1 },
        producer: '\u001b]0;prod\u0007',
        inputs: [{ name: 'x', dtype: 'float32', shape: ['\u001b]0;dim\u0007'] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [1] }],
        nodes: [{ name: 'n', opType: '\u001b[2JEvil', domain: '\u001b[31mdom', inputs: ['x'], outputs: ['y'] }],
        initializers: [],
      }),
      file,
    );
    const table = await runCliInProcess(['inspect', file]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(RAW_CONTROL);
    expect(table.stdout).toContain('\\x1b[2JEvil');
    expect(table.stdout).toContain('produced by \\x1b]0;prod\\x07');
    expect(table.stdout).toContain('[\\x1b]0;dim\\x07]');
    const ops = await runCliInProcess(['inspect', file, '--ops', 'Conv']);
    expect(ops.code).toBe(2);
    expect(ops.stderr).not.toMatch(RAW_CONTROL);
    // onnxruntime's own message quotes the op type: it is escaped as well.
    const run = await runCliInProcess(['run', file, '--shape', 'x=1', '--out', path.join(work, 'hostile-op-run')]);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
    expect(run.stderr).toContain('\\x1b[2JEvil');
  });

  it('a tap or an input whose name holds NUL runs through both backends under its own name', async () => {
    // onnxruntime-node cuts names at NUL; the sessions give such tensors an alias and map it back.
    for (const [what, input] of [
      ['tap', 'x'],
      ['input', 'in\u0000put'],
    ] as const) {
      const b = new GraphBuilder({ name: `nul-${what}`, opset: 13, irVersion: 7, seed: 1 });
      const x = b.input(input, [1, 2, 2, 2]);
      const r1 = b.relu(x, { name: 'r1', out: 'nul\u0000tensor' });
      b.output(b.relu(r1, { name: 'r2', out: 'y' }));
      const file = path.join(work, `nul-${what}.onnx`);
      writeModel(createModel(b.build()), file);
      const out = path.join(work, `nul-${what}-run`);
      const r = await runCliInProcess(['run', file, '--backend', 'both', '--taps', '@all', '--out', out]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(RAW_CONTROL);
      const manifest = readManifest(out);
      expect(manifest.status).toBe('complete');
      const names = (backend: string): string[] =>
        manifest.tensors
          .filter((t) => t.backend === backend)
          .map((t) => t.name)
          .sort();
      expect(names('float'), what).toEqual(['nul\u0000tensor', 'y']);
      expect(names('quant'), what).toEqual(['nul\u0000tensor', 'y']);
      for (const entry of manifest.tensors) expect(readRunTensor(out, entry).dims).toEqual([1, 2, 2, 2]);
    }
  });
});
