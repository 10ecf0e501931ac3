import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessRunner } from '../src/app/session/in-process-runner.js';
import type { JobRunner } from '../src/app/session/job-runner.js';
import type { JobEvent, ProbeView } from '../src/app/session/session-jobs.js';
import { openSession, type Session } from '../src/app/session/session.js';
import { CancelledError, InternalError, UserError } from '../src/core/errors.js';
import { fromWire, toWire } from '../src/app/session/worker-runner.js';
import { REPO, tempDir } from './helpers/cli.js';

/** The session jobs on the demo model, in-process: what the TUI's worker runs, with real models. */
describe('session jobs on the demo model', () => {
  let session: Session;
  let runner: JobRunner;
  const savedCache = process.env.QUANTSCOPE_CACHE;
  const out = tempDir('qs-tui-jobs-');
  const cwd = process.cwd();

  beforeAll(async () => {
    process.env.QUANTSCOPE_CACHE = join(out, 'cache');
    // fix writes its plan file under dumps/ of the working directory.
    process.chdir(out);
    session = await openSession({
      model: { modelPath: join(REPO, 'models', 'demo-generator.onnx') },
      quant: {},
      emitDir: join(out, 'emitted'),
    });
    runner = inProcessRunner(session);
  });
  afterAll(async () => {
    await runner.dispose();
    process.chdir(cwd);
    if (savedCache === undefined) delete process.env.QUANTSCOPE_CACHE;
    else process.env.QUANTSCOPE_CACHE = savedCache;
  });

  const run = (kind: 'compare' | 'bisect' | 'fix' | 'emit', extra: object = {}) => {
    const events: JobEvent[] = [];
    const promise = runner.run({ kind, edits: [], ...extra }, (e) => events.push(e), new AbortController().signal);
    return { events, promise };
  };

  it('compare returns the report of the tapped tensors plus the outputs', async () => {
    const { events, promise } = run('compare', { taps: ['fuse_norm_out', 'branch_concat_out'] });
    const outcome = await promise;
    if (outcome.kind !== 'compare') throw new Error('wrong outcome');
    expect(outcome.report.rows.map((r) => r.tensor)).toEqual(['branch_concat_out', 'fuse_norm_out', 'image']);
    expect(outcome.report.firstFailing).toBe('fuse_norm_out');
    expect(outcome.report.rows[1].own).toBeTruthy();
    expect(events.some((e) => e.type === 'progress' && e.stage === 'compare')).toBe(true);
  });

  it('bisect reports every probe with its range and value, and names the culprit with a plan', async () => {
    const { events, promise } = run('bisect');
    const outcome = await promise;
    if (outcome.kind !== 'bisect') throw new Error('wrong outcome');
    const probes = events.flatMap((e) => (e.type === 'probe' ? [e.probe] : [])) as ProbeView[];
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes[0].range).toMatch(/^\d+\.\.40$/);
    for (const p of probes) expect(typeof p.value).toBe('number');
    expect(probes.filter((p) => p.range === 'certify').map((p) => p.note)).toContain('culprit');
    const r = outcome.result;
    // Under the default gate the planted Conv itself is the culprit, and its promotion is offered.
    expect(r.culprit?.node).toBe('fuse_conv');
    expect(r.output?.pass).toBe(false);
    expect(r.inputs.every((i) => i.pass)).toBe(true);
    expect(r.suggested).toEqual([['fuse_conv', 'int16']]);
  });

  it('fix reaches the target by promoting the planted hazard; emit writes and verifies the model', async () => {
    const { events, promise } = run('fix');
    const outcome = await promise;
    if (outcome.kind !== 'fix') throw new Error('wrong outcome');
    expect(outcome.result.reached).toBe(true);
    // The planted hazard comes first; the default gate's PSNR >= 40 dB at the output takes more.
    expect(outcome.result.overrides[0]).toEqual(['fuse_conv', 'int16']);
    expect(outcome.result.macShare).toBeGreaterThan(0);
    const rows = events.flatMap((e) => (e.type === 'probe' ? [e.probe] : []));
    expect(rows[0]).toMatchObject({ opType: 'evaluate', pass: false });
    expect(typeof rows[0].value).toBe('number');
    expect(rows.some((p) => p.opType === 'promote')).toBe(true);

    const emitted = await runner.run({ kind: 'emit', edits: outcome.result.overrides }, () => {}, new AbortController().signal);
    if (emitted.kind !== 'emit') throw new Error('wrong outcome');
    expect(emitted.result.verified).toBe(true);
    const model = emitted.result.files.find((f) => f.role === 'model')?.path ?? '';
    expect(model).toBe(join(out, 'emitted', 'demo-generator.mixed.onnx'));
    expect(existsSync(model)).toBe(true);
  });

  it('a cancelled job rejects with CancelledError and the next job runs', async () => {
    const controller = new AbortController();
    const job = runner.run({ kind: 'compare', edits: [] }, () => controller.abort(new CancelledError('stop')), controller.signal);
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    const next = await runner.run({ kind: 'compare', edits: [], taps: ['image'] }, () => {}, new AbortController().signal);
    expect(next.kind).toBe('compare');
  });
});

describe('errors across the worker boundary', () => {
  it.each([
    [new UserError('Input x is bad.', { exitCode: 2 }), UserError, 'Input x is bad.'],
    [new CancelledError('stop'), CancelledError, 'stop'],
    [new TypeError('boom'), InternalError, 'boom'],
    ['a string', InternalError, 'a string'],
  ] as const)('%s comes back as the same family', (thrown, family, message) => {
    const back = fromWire(toWire(thrown));
    expect(back).toBeInstanceOf(family);
    expect(back.message).toBe(message);
  });
});
