import { describe, expect, it } from 'vitest';
import { planWith, promotionRegion, sensitivityRegions } from '../src/app/fix.js';
import type { Graph, GraphNode } from '../src/core/graph.js';
import { resolvePlan, type Override } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { smallNet } from './quant-fixtures.js';

/**
 * smallNet: x → conv1 → relu1 ─┬→ conv2 → in2 → relu2 ─┐
 *                              └───────────────────────┴→ concat → conv3 → y
 * Under both profiles conv1+relu1 and conv2+in2+relu2 are fusion groups.
 */
const graph: Graph = smallNet();
const node = (name: string): GraphNode => graph.nodes.find((n) => n.name === name) as GraphNode;
const plan = (profile: string, overrides: Override[] = []) => resolvePlan(graph, loadProfile(profile), overrides);
const changes = (r: ReturnType<typeof promotionRegion>) => r?.changes.map((c) => `${c.node}:${c.from}->${c.to}`) ?? null;

describe('promotionRegion', () => {
  it.each([
    { name: 'a quantized culprit alone', profile: 'generic-int8', culprit: 'conv3', want: ['conv3:int8->int16'], reason: 'culprit' },
    {
      name: 'a quantized culprit heading a fused group',
      profile: 'generic-int8',
      culprit: 'conv2',
      want: ['conv2:int8->int16'],
      reason: 'culprit',
    },
    {
      name: 'an fp32 float op fused behind a Conv promotes the Conv',
      profile: 'generic-int8',
      culprit: 'in2',
      want: ['conv2:int8->int16'],
      reason: 'culprit',
    },
    {
      name: 'an fp32 Concat promotes the nearest kernels that feed it',
      profile: 'generic-int8',
      culprit: 'concat',
      want: ['conv1:int8->int16', 'conv2:int8->int16'],
      reason: 'producers',
    },
    { name: 'an fp16 Concat goes to fp32', profile: 'int8-fp16', culprit: 'concat', want: ['concat:fp16->fp32'], reason: 'culprit' },
    {
      name: 'a fused group at int8-fp16: Conv to int16 and its float ops to fp32',
      profile: 'int8-fp16',
      culprit: 'relu2',
      want: ['conv2:int8->int16', 'in2:fp16->fp32', 'relu2:fp16->fp32'],
      reason: 'culprit',
    },
  ])('$name', ({ profile, culprit, want, reason }) => {
    const r = promotionRegion(graph, plan(profile), node(culprit));
    expect(changes(r)?.sort()).toEqual([...want].sort());
    expect(r?.reason).toBe(reason);
    expect(r?.culprit).toBe(culprit);
  });

  it('a culprit already promoted and still failing promotes the kernels feeding it, through float ops', () => {
    const p = plan('generic-int8', [['conv3', 'int16']]);
    const r = promotionRegion(graph, p, node('conv3'));
    expect(changes(r)?.sort()).toEqual(['conv1:int8->int16', 'conv2:int8->int16']);
    expect(r?.reason).toBe('producers');
  });

  it('takes only the nearest kernels, not every one up the paths', () => {
    // conv2's group is promoted: conv3 → concat → (relu1: conv1, level 1) and (relu2: conv2's group, passed through).
    const p = plan('generic-int8', [
      ['conv3', 'int16'],
      ['conv2', 'int16'],
    ]);
    expect(changes(promotionRegion(graph, p, node('conv3')))).toEqual(['conv1:int8->int16']);
  });

  it('gives null when nothing upstream can be promoted', () => {
    const p = plan('generic-int8', [
      ['conv1', 'int16'],
      ['conv2', 'int16'],
      ['conv3', 'int16'],
    ]);
    expect(promotionRegion(graph, p, node('conv3'))).toBeNull();
    expect(promotionRegion(graph, p, node('concat'))).toBeNull();
  });

  it('keys regions by their nodes, so the same region found twice is recognised', () => {
    const a = promotionRegion(graph, plan('generic-int8'), node('in2'));
    const b = promotionRegion(graph, plan('generic-int8'), node('conv2'));
    expect(a?.key).toBe(b?.key);
  });
});

describe('sensitivityRegions and planWith', () => {
  it('lists every kernel with something to promote, in order', () => {
    expect(sensitivityRegions(graph, plan('generic-int8')).map((r) => r.changes.map((c) => c.node))).toEqual([
      ['conv1'],
      ['conv2'],
      ['conv3'],
    ]);
    expect(sensitivityRegions(graph, plan('int8-fp16')).map((r) => r.changes.map((c) => c.node))).toEqual([
      ['conv1', 'relu1'],
      ['conv2', 'in2', 'relu2'],
      ['concat'],
      ['conv3'],
    ]);
  });

  it('applies regions as exact-name overrides after the plan’s own', () => {
    const base = plan('int8-fp16', [['conv3', 'fp32']]);
    const regions = sensitivityRegions(graph, base);
    expect(regions.map((r) => r.culprit)).toEqual(['conv1', 'conv2', 'concat']);
    const p = planWith(graph, base, regions.slice(1, 2));
    expect(p.overrides).toEqual([
      ['conv3', 'fp32'],
      ['conv2', 'int16'],
      ['in2', 'fp32'],
      ['relu2', 'fp32'],
    ]);
    expect(p.precision.get('conv1')).toBe('int8');
    expect(planWith(graph, base, [])).toBe(base);
  });
});

describe('region keys', () => {
  it('name the nodes unambiguously, whatever characters the names hold', () => {
    // A producers region of conv1 and conv2 against one node whose name joins theirs with NUL.
    const region = promotionRegion(graph, plan('generic-int8'), node('concat'));
    expect(JSON.parse(region?.key ?? 'null')).toEqual([['conv1'], ['conv2']]);
    const renamed: Graph = { ...graph, nodes: graph.nodes.map((n) => (n.name === 'conv3' ? { ...n, name: 'conv1\u0000conv2' } : n)) };
    const lone = promotionRegion(
      renamed,
      resolvePlan(renamed, loadProfile('generic-int8'), []),
      renamed.nodes.find((n) => n.name === 'conv1\u0000conv2') as GraphNode,
    );
    expect(lone?.changes.map((c) => c.node)).toEqual(['conv1\u0000conv2']);
    expect(lone?.key).not.toBe(region?.key);
  });
});
