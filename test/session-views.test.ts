import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../src/app/events.js';
import { inProcessRunner } from '../src/app/session/in-process-runner.js';
import type { JobRunner } from '../src/app/session/job-runner.js';
import type { BisectView, FixView, JobEvent, JobRequest, ProbeView } from '../src/app/session/session-jobs.js';
import { runsText } from '../src/app/session/session-bisect.js';
import { evaluationProgress } from '../src/app/session/session-progress.js';
import { openSession, type Session, type SessionSettings } from '../src/app/session/session.js';
import { makeTensor } from '../src/core/tensor.js';
import { writeNpy } from '../src/store/npy.js';
import { isolatedCache, REPO } from './helpers/cli.js';

const DEMO = join(REPO, 'models', 'demo-generator.onnx');

describe('evaluationProgress', () => {
  it('counts the tap groups of every evaluation input as one count, naming the input', () => {
    const seen: ProgressEvent[] = [];
    const on = evaluationProgress(2, (e) => seen.push(e));
    on({ type: 'progress', stage: 'calibrate', done: 1, total: 4 });
    on({ type: 'stage', stage: 'evaluation', detail: 'input 1 of 2: a.png' });
    on({ type: 'progress', stage: 'compare', done: 1, total: 3, detail: '5 tensor(s)' });
    on({ type: 'progress', stage: 'compare', done: 3, total: 3 });
    on({ type: 'stage', stage: 'evaluation', detail: 'input 2 of 2: b.png' });
    on({ type: 'progress', stage: 'compare', done: 2, total: 3, detail: '4 tensor(s)' });
    expect(seen.filter((e) => e.type === 'progress')).toEqual([
      { type: 'progress', stage: 'calibrate', done: 1, total: 4 },
      { type: 'progress', stage: 'compare', done: 1, total: 6, detail: 'input 1 of 2, 5 tensor(s)' },
      { type: 'progress', stage: 'compare', done: 3, total: 6, detail: 'input 1 of 2' },
      { type: 'progress', stage: 'compare', done: 5, total: 6, detail: 'input 2 of 2, 4 tensor(s)' },
    ]);
  });

  it('leaves a single input alone', () => {
    const listener = (): void => {};
    expect(evaluationProgress(1, listener)).toBe(listener);
  });
});

describe('runsText', () => {
  const counts = { listed: 8, probeRuns: 7, quantRuns: 8, evaluationRuns: 0, candidates: 39, runBudget: 8 };
  it.each([
    [counts, '8 probes listed from 7 probe runs; 8 quant runs (the run without taps included), budget 8 for 39 candidates'],
    [
      { ...counts, evaluationRuns: 3 },
      '8 probes listed from 7 probe runs; 8 quant runs (the run without taps included), budget 8 for 39 candidates; 3 more runs to choose the worst evaluation input',
    ],
    [
      { listed: 1, probeRuns: 1, quantRuns: 2, evaluationRuns: 0, candidates: 1, runBudget: 2 },
      '1 probe listed from 1 probe run; 2 quant runs (the run without taps included), budget 2 for 1 candidate',
    ],
    [{ listed: 0, probeRuns: 0, quantRuns: 1, evaluationRuns: 0, candidates: 0, runBudget: 0 }, 'no probes; 1 quant run without taps'],
  ])('%o', (c, text) => {
    expect(runsText(c)).toBe(text);
  });
});

/** The bisect and fix views on the demo model, in-process. */
describe('probe and result views that explain themselves', () => {
  const dir = isolatedCache('qs-session-views-');
  let session: Session;
  let runner: JobRunner;
  beforeAll(async () => {
    session = await openSession({ model: { modelPath: DEMO }, quant: {} });
    runner = inProcessRunner(session);
  });
  afterAll(async () => {
    await runner.dispose();
  });

  const run = async (request: Omit<JobRequest, 'edits'>) => {
    const events: JobEvent[] = [];
    const outcome = await runner.run({ edits: [], ...request }, (e) => events.push(e), new AbortController().signal);
    return { outcome, events, rows: events.flatMap((e) => (e.type === 'probe' ? [e.probe] : [])) };
  };
  const settings = (change: Partial<SessionSettings>): SessionSettings => ({ ...session.settings, ...change });
  const bisectOf = (o: { kind: string; result?: unknown }): BisectView => {
    if (o.kind !== 'bisect') throw new Error('wrong outcome');
    return o.result as BisectView;
  };

  it('bisect: the rows listed, the probe count, the quant runs and the summary agree', async () => {
    const { outcome, rows } = await run({ kind: 'bisect', settings: settings({}) });
    const r = bisectOf(outcome);
    // The demo's search: 6 search probes and one certificate run tapping the culprit and its input.
    expect(rows).toHaveLength(8);
    expect(r.probes).toBe(rows.length);
    expect(r.counts).toEqual({ listed: 8, probeRuns: 7, quantRuns: 8, evaluationRuns: 0, candidates: 39, runBudget: 8 });
    expect(new Set(rows.map((p) => p.step)).size).toBe(r.counts.probeRuns);
    expect(r.summary).toBe(
      'fuse_conv certified: its inputs pass and it fails; 8 probes listed from 7 probe runs; 8 quant runs (the run without taps included), budget 8 for 39 candidates',
    );
  });

  it('bisect: when the probes are held to what the output needs rather than to the gate, the view says so with both conditions', async () => {
    // At snrDb ≥ 5 the demo's output (about 6 dB) passes the tensors' floor but misses the default gate's psnrDb ≥ 40.
    const { outcome, rows } = await run({ kind: 'bisect', settings: settings({ threshold: 5 }) });
    const r = bisectOf(outcome);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ metric: 'snrDb', threshold: r.threshold });
    expect(r.threshold).toBeGreaterThan(5);
    expect(r.searchNote).toMatch(
      new RegExp(
        `^probes are held to ${r.metric} ≥ ${Number(r.threshold.toPrecision(4))}: what 'image' needs along the graph to meet snrDb >= 5, outputs also psnrDb >= 40`,
      ),
    );
    // The default gate's own bisect holds the probes to the gate itself: no note.
    const plain = bisectOf((await run({ kind: 'bisect', settings: settings({}) })).outcome);
    expect(plain.searchNote).toBeUndefined();
  });

  it('bisect: every row carries the condition it was judged by, and its verdict follows from it', async () => {
    const { rows } = await run({ kind: 'bisect', settings: settings({}) });
    for (const p of rows) {
      expect(p).toMatchObject({ metric: 'snrDb', threshold: 30, comparison: '≥' });
      expect(['search', 'certificate']).toContain(p.kind);
      expect(typeof p.value).toBe('number');
      expect(p.pass).toBe((p.value as number) >= 30);
    }
  });

  it("bisect names the culprit's fused region: under cosine the culprit fuse_norm is fused with fuse_conv, which the plan promotes", async () => {
    const { outcome } = await run({ kind: 'bisect', settings: settings({ metric: 'cosine', threshold: 0.99 }) });
    const r = bisectOf(outcome);
    expect(r.culprit?.node).toBe('fuse_norm');
    expect(r.comparison).toBe('≥');
    expect(r.region).toEqual({
      fused: [
        { node: 'fuse_conv', opType: 'Conv' },
        { node: 'fuse_norm', opType: 'InstanceNormalization' },
        { node: 'fuse_relu', opType: 'Relu' },
      ],
      reason: 'culprit',
      promotes: [{ node: 'fuse_conv', opType: 'Conv', from: 'int8', to: 'int16' }],
      text: 'culprit fuse_norm (InstanceNormalization) is fused with fuse_conv (Conv), fuse_relu (Relu); the plan promotes the fused region: fuse_conv (Conv) int8→int16',
    });
    expect(r.suggested).toEqual([['fuse_conv', 'int16']]);
  });

  it('bisect runs on the evaluation input, as compare does', async () => {
    // Inputs of the demo's shape, unlike the synthetic ones the session was opened with.
    const values = (seed: number): Float32Array => Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i * 0.37 + seed) * 0.8);
    writeNpy(join(dir, 'content.npy'), makeTensor('float32', [1, 3, 64, 64], values(1)));
    writeNpy(join(dir, 'style.npy'), makeTensor('float32', [1, 3, 64, 64], values(2)));
    const evalSettings = settings({ eval: [`content=${join(dir, 'content.npy')}`, `style=${join(dir, 'style.npy')}`] });
    const { rows } = await run({ kind: 'bisect', settings: evalSettings });
    const first = rows[0];
    const compared = await run({ kind: 'compare', taps: [first.tensor], settings: evalSettings });
    if (compared.outcome.kind !== 'compare') throw new Error('wrong outcome');
    // The same single tap on the same input gives the same numbers.
    expect(compared.outcome.report.rows.find((x) => x.tensor === first.tensor)?.metrics?.snrDb).toBe(first.value);
  });

  it('fix: every row has its condition, every promotion its region and the outputs before → after', async () => {
    const { outcome, rows } = await run({ kind: 'fix', settings: settings({}) });
    if (outcome.kind !== 'fix') throw new Error('wrong outcome');
    const result: FixView = outcome.result;
    expect(result.reached).toBe(true);
    for (const p of rows) {
      expect(Number.isFinite(p.threshold)).toBe(true);
      expect(p.comparison).toBe('≥');
      if (p.value === null) expect(p.reason).toBeTruthy();
    }
    const evaluations = rows.filter((p) => p.kind === 'evaluate');
    const probes = rows.filter((p) => p.kind === 'search' || p.kind === 'certificate');
    const promotions = rows.filter((p): p is ProbeView & { region: NonNullable<ProbeView['region']> } => p.kind === 'promote');
    expect(evaluations[0]).toMatchObject({ tensor: 'baseline: 0 region(s) promoted', metric: 'psnrDb', threshold: 40, pass: false });
    expect(probes.length).toBeGreaterThan(0);
    for (const p of probes) expect(typeof p.value).toBe('number');
    expect(promotions.length).toBeGreaterThan(0);
    // The first promotion: the planted hazard, from the baseline's value to the value measured with it.
    expect(promotions[0].region.map((n) => n.node)).toEqual(['fuse_conv']);
    expect(promotions[0].tensor).toBe('fuse_conv');
    expect(promotions[0].before).toBe(evaluations[0].value);
    for (const [k, p] of promotions.entries()) {
      expect(p.region.length).toBeGreaterThan(0);
      expect(typeof p.before).toBe('number');
      expect(typeof p.value).toBe('number');
      // Its after value is an evaluation's: of the candidate chosen, or of the promoted set.
      expect(evaluations.some((e) => e.value === p.value && e.metric === p.metric)).toBe(true);
      // Each promotion starts where the one before it ended.
      if (k > 0) expect(p.before).toBe(promotions[k - 1].value);
    }
    // Every region the plan keeps was promoted in a row, node by node.
    const promotedNodes = new Set(promotions.flatMap((p) => p.region.map((n) => n.node)));
    for (const [node] of result.overrides) expect(promotedNodes.has(node)).toBe(true);
  });
});
