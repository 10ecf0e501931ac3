import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bisect } from '../src/app/bisect/bisect.js';
import { compareModel } from '../src/app/compare/compare.js';
import { openModel, type ModelContext } from '../src/app/context.js';
import { emitModel } from '../src/app/emit/emit.js';
import { fix } from '../src/app/fix.js';
import { setUpQuant, type QuantSetup } from '../src/app/quant-setup.js';
import { runModel } from '../src/app/run.js';
import { OrtSession } from '../src/backends/session.js';
import { UserError } from '../src/core/errors.js';
import { readModel } from '../src/store/model-file.js';
import { editModel, graphOf, renameTensors, tensorNames, writeModel } from '../src/onnx/index.js';
import { readManifest } from '../src/store/manifest.js';
import { readRunTensor } from '../src/store/run-dir.js';
import { REPO, isolatedCache } from './helpers/cli.js';

/**
 * A model whose tensor names hold NUL runs, compares, bisects and fixes like the same model with
 * '_' in place of each NUL (the planted-source fixture): same numbers, keyed by its own names.
 * onnxruntime-node cuts names at NUL, so before the sessions aliased such names, calibration (which
 * taps every tensor) refused the model outright.
 */

const dir = isolatedCache('qs-nul-names-');
const FIXTURE = join(REPO, 'fixtures', 'planted-source.onnx');
/** The fixture with its output renamed `y_`: the NUL model with '_' for each NUL. */
const SAFE = join(dir, 'planted-safe.onnx');
/** The planted conv's input and output, and the graph output. */
const NUL_NAMES: ReadonlyMap<string, string> = new Map([
  ['spike_out', 'spike\u0000out'],
  ['planted_source_out', 'planted\u0000source_out'],
  ['y', 'y\u0000'],
]);
const NUL = join(dir, 'planted-nul.onnx');
/** Only intermediate tensors renamed: the emitted model can keep the names and still run. */
const INNER = join(dir, 'planted-inner-nul.onnx');

/**
 * The JSON form of a result with every NUL read as '_' (also where a message shows it escaped) and
 * the fields that name the model file or time left out.
 */
function normalized(value: unknown): unknown {
  const skip = new Set(['model', 'seconds', 'timings', 'outDir', 'plan', 'file']);
  const json = JSON.stringify(value, (key, v: unknown) => (skip.has(key) ? undefined : v));
  return JSON.parse(json.replaceAll('\\u0000', '_').replaceAll('\\\\x00', '_'));
}

async function open(file: string): Promise<{ ctx: ModelContext; quant: QuantSetup }> {
  const ctx = await openModel({ modelPath: file });
  return { ctx, quant: await setUpQuant(ctx, { profile: 'generic-int8' }) };
}

beforeAll(() => {
  const model = readModel(FIXTURE);
  writeModel(renameTensors(model, new Map([['y', 'y_']])), SAFE);
  writeModel(renameTensors(model, NUL_NAMES), NUL);
  writeModel(renameTensors(model, new Map([['planted_source_out', 'planted\u0000source_out']])), INNER);
});

describe('tensor names holding NUL', () => {
  it('the renamed model really holds NUL names, which a session fetches and returns under them', async () => {
    const names = tensorNames(readModel(NUL));
    for (const name of NUL_NAMES.values()) expect(names.has(name)).toBe(true);
    const { ctx } = await open(NUL);
    const session = await OrtSession.create(editModel(readModel(NUL), { addOutputs: ['spike\u0000out'] }), { label: 'the NUL model' });
    try {
      const out = await session.run(ctx.feeds, ['spike\u0000out', 'y\u0000']);
      expect([...out.keys()].sort()).toEqual(['spike\u0000out', 'y\u0000']);
      expect(session.outputNames).toEqual(['y\u0000', 'spike\u0000out']);
      expect(session.inputNames).toEqual(['x']);
    } finally {
      await session.dispose();
    }
  });

  it("run --backend both taps every tensor and writes it under its own name, with the safe model's values", async () => {
    const tensors = async (file: string, out: string) => {
      const { ctx, quant } = await open(file);
      const result = await runModel({ ctx, quant, backend: 'both', taps: ['@all'], outDir: join(dir, out) });
      expect(result.status).toBe('complete');
      const manifest = readManifest(result.outDir);
      return new Map(
        manifest.tensors.map((t) => [`${t.backend}:${t.name}`, Array.from(readRunTensor(result.outDir, t).data as Float32Array)]),
      );
    };
    const nul = await tensors(NUL, 'run-nul');
    const safe = await tensors(SAFE, 'run-safe');
    expect([...nul.keys()]).toContain('quant:planted\u0000source_out');
    expect([...nul.keys()].map((k) => k.replaceAll('\u0000', '_')).sort()).toEqual([...safe.keys()].sort());
    for (const [key, values] of nul) expect(values, key).toEqual(safe.get(key.replaceAll('\u0000', '_')));
  });

  it("compare reports every tensor under its own name with the safe model's metrics", async () => {
    const report = async (file: string) => {
      const { ctx, quant } = await open(file);
      return (await compareModel({ ctx, quant })).report;
    };
    const nul = await report(NUL);
    const safe = await report(SAFE);
    expect(nul.rows.map((r) => r.tensor)).toContain('planted\u0000source_out');
    expect(nul.worstSource).toBe('planted\u0000source_out');
    expect(nul.outputs).toEqual(['y\u0000']);
    expect(normalized(nul)).toEqual(normalized(safe));
  });

  it('bisect names the culprit by its own tensor names, in the same runs as on the safe model', async () => {
    const report = async (file: string) => {
      const { ctx, quant } = await open(file);
      return bisect({ ctx, quant });
    };
    const nul = await report(NUL);
    const safe = await report(SAFE);
    expect(nul.culprit?.node).toBe('planted_source');
    expect(nul.culprit?.tensor).toBe('planted\u0000source_out');
    expect(nul.inputs.map((i) => i.tensor)).toEqual(['spike\u0000out']);
    expect(nul.output.tensor).toBe('y\u0000');
    expect(normalized(nul)).toEqual(normalized(safe));
  });

  it("fix (at most two promotions) finds the safe model's plan with the same numbers", async () => {
    const report = async (file: string, plan: string) => {
      const { ctx, quant } = await open(file);
      return fix({ ctx, quant, maxPromotions: 2, target: 'cosine>=0.999', planOut: join(dir, plan) });
    };
    const nul = await report(NUL, 'nul.plan.json');
    const safe = await report(SAFE, 'safe.plan.json');
    expect(nul.met).toBe(true);
    expect(nul.promoted).toContain('planted_source');
    expect(nul.outputs.map((o) => o.tensor)).toEqual(['y\u0000']);
    expect(normalized(nul)).toEqual(normalized(safe));
  });

  it('emit refuses, naming the tensor, a model whose output holds NUL, before anything is built or written', async () => {
    const { ctx, quant } = await open(NUL);
    const out = join(dir, 'emit-nul', 'planted.onnx');
    await expect(emitModel({ ctx, setup: quant, out })).rejects.toThrow(UserError);
    await expect(emitModel({ ctx, setup: quant, out })).rejects.toThrow(
      /^The output 'y\\x00' of '.*planted-nul\.onnx' has a NUL character in its name, which onnxruntime cannot take as an input or output name[^.]*\.$/,
    );
    expect(existsSync(out)).toBe(false);
    // fix --emit refuses before its search, not after it.
    await expect(fix({ ctx, quant, emit: join(dir, 'fix-nul.onnx'), planOut: join(dir, 'fix-nul.plan.json') })).rejects.toThrow(
      /^The output 'y\\x00'/,
    );
    expect(existsSync(join(dir, 'fix-nul.plan.json'))).toBe(false);
  });

  it('emit writes a model whose inner tensor holds NUL under that name, and a fresh session runs it', async () => {
    const { ctx, quant } = await open(INNER);
    const out = join(dir, 'emit-inner', 'planted.onnx');
    const result = await emitModel({ ctx, setup: quant, out });
    expect(result.verification.outputs.every((o) => o.identical)).toBe(true);
    expect(tensorNames(readModel(out)).has('planted\u0000source_out')).toBe(true);
    expect(graphOf(readModel(out)).outputs.map((o) => o.name)).toEqual(['y']);
    const session = await OrtSession.createWithDefaults(readFileSync(out), out);
    try {
      expect([...(await session.run(ctx.feeds, ['y'])).keys()]).toEqual(['y']);
    } finally {
      await session.dispose();
    }
  });
});
