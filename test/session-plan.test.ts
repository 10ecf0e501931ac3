import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultPlanPath, openPlan, savePlan } from '../src/app/session/session-plan.js';
import { openSession, planWithEdits, type Session } from '../src/app/session/session.js';
import type { Override } from '../src/quant/plan.js';
import { REPO, runCliInProcess, tempDir } from './helpers/cli.js';

const DEMO = join(REPO, 'models', 'demo-generator.onnx');

describe('plans as files for the session', () => {
  const dir = tempDir('qs-session-plan-');
  let session: Session;
  // A session opened with an override of its own (as --precision gives one): the saved plan keeps it.
  beforeAll(async () => {
    session = await openSession({ model: { modelPath: DEMO }, quant: { overrides: [['style_stats_conv', 'int16']] } });
  });
  const edits: Override[] = [
    ['fuse_conv', 'int16'],
    ['res1_conv1', 'a16w8'],
  ];

  it('savePlan writes the profile, the base overrides and the edits; openPlan gives the edits back', () => {
    const path = savePlan(session, edits, join(dir, 'sub', 'demo.plan.json'));
    expect(path).toBe(join(dir, 'sub', 'demo.plan.json'));
    const json = JSON.parse(readFileSync(path, 'utf8')) as { profile: string; overrides: Record<string, string> };
    expect(json).toEqual({ profile: 'generic-int8', overrides: { style_stats_conv: 'int16', fuse_conv: 'int16', res1_conv1: 'a16w8' } });
    const opened = openPlan(session, path);
    expect([...opened].sort()).toEqual([...edits].sort());
    expect(planWithEdits(session, opened).precision).toEqual(planWithEdits(session, edits).precision);
  });

  it('openPlan turns a plan written elsewhere (patterns, base overrides undone) into per-node edits', () => {
    const path = join(dir, 'pattern.plan.json');
    writeFileSync(path, JSON.stringify({ profile: 'generic-int8', overrides: { 'res1_*': 'int16' } }));
    const opened = openPlan(session, path);
    // The session's own override of style_stats_conv is absent from the file: opening it sets the node back.
    expect(opened).toEqual([
      ['style_stats_conv', 'int8'],
      ['res1_conv1', 'int16'],
      ['res1_conv2', 'int16'],
    ]);
  });

  it('refuses a plan for another profile, naming the file', () => {
    const path = join(dir, 'fp16.plan.json');
    writeFileSync(path, JSON.stringify({ profile: 'int8-fp16', overrides: {} }));
    expect(() => openPlan(session, path)).toThrow(
      `Plan file '${path}' is for profile 'int8-fp16', but the session runs 'generic-int8'; change the profile in the settings first.`,
    );
  });

  it('refuses a plan naming a node the graph lacks, naming the file and the node', () => {
    const path = join(dir, 'other.plan.json');
    writeFileSync(path, JSON.stringify({ profile: 'generic-int8', overrides: { fuse_conv: 'int16', conv_77: 'int16' } }));
    expect(() => openPlan(session, path)).toThrow(
      new RegExp(`^Plan file '${path}' names node 'conv_77', which model 'demo-generator' does not hold`),
    );
  });

  it('refuses a plan that does not resolve on the graph (a float op at int16)', () => {
    const path = join(dir, 'relu.plan.json');
    writeFileSync(path, JSON.stringify({ profile: 'generic-int8', overrides: { fuse_relu: 'int16' } }));
    expect(() => openPlan(session, path)).toThrow(/^Plan file '.*relu\.plan\.json' does not fit model 'demo-generator': .*fuse_relu/);
  });

  it('defaultPlanPath is dumps/<model>.plan.json under the working directory', () => {
    expect(defaultPlanPath(session)).toBe(join(process.cwd(), 'dumps', 'demo-generator.plan.json'));
  });

  it('the saved file runs unchanged with --plan: compare measures under it, emit writes its precisions', async () => {
    const path = savePlan(session, edits, join(dir, 'cli.plan.json'));
    const plain = await runCliInProcess(['compare', DEMO, '--taps', 'fuse_conv_out', '--json', '-q']);
    const planned = await runCliInProcess(['compare', DEMO, '--plan', path, '--taps', 'fuse_conv_out', '--json', '-q']);
    expect(planned.stderr).toBe('');
    const snr = (stdout: string): number =>
      (JSON.parse(stdout) as { rows: { tensor: string; metrics: { snrDb: number } }[] }).rows.find((r) => r.tensor === 'fuse_conv_out')
        ?.metrics.snrDb ?? Number.NaN;
    // fuse_conv at int16 takes its output well above the INT8 plan's.
    expect(snr(planned.stdout)).toBeGreaterThan(snr(plain.stdout) + 10);

    const out = join(dir, 'emitted', 'demo.mixed.onnx');
    const emitted = await runCliInProcess(['emit', DEMO, '--plan', path, '--out', out, '-q']);
    expect(emitted.code).toBe(0);
    const quant = JSON.parse(readFileSync(out.replace(/\.onnx$/, '.quant.json'), 'utf8')) as {
      nodes: { name: string; precision: string }[];
    };
    const precision = new Map(quant.nodes.map((n) => [n.name, n.precision]));
    expect([
      precision.get('fuse_conv'),
      precision.get('res1_conv1'),
      precision.get('style_stats_conv'),
      precision.get('res1_conv2'),
    ]).toEqual(['int16', 'a16w8', 'int16', 'int8']);
  });
});
