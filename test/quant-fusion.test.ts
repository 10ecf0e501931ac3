import { describe, expect, it } from 'vitest';
import { fusionGroups, groupByNode, innerTensorSet } from '../src/quant/fusion.js';
import { resolvePlan } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { parseProfile } from '../src/quant/profile.js';
import { graphOf, smallNet } from './quant-fixtures.js';

const generic = loadProfile('generic-int8');
const brief = (groups: ReturnType<typeof fusionGroups>) =>
  groups.map((gr) => `${gr.nodes.join('+')}->${gr.output}[${gr.innerTensors.join(',')}]`);

describe('fusion groups', () => {
  const g = smallNet();
  const plan = resolvePlan(g, generic);

  const cases: [string, string[], string[]][] = [
    ['no taps: the longest pattern from each node', [], ['conv1+relu1->r1[c1]', 'conv2+in2+relu2->r2[c2,n2]']],
    ['a tap after the Conv splits Conv|IN+Relu (a piece of a pattern stays fused)', ['c2'], ['conv1+relu1->r1[c1]', 'in2+relu2->r2[n2]']],
    ['a tap after the IN splits Conv+IN|Relu', ['n2'], ['conv1+relu1->r1[c1]', 'conv2+in2->n2[c2]']],
    ['two taps leave single nodes', ['c2', 'n2', 'c1'], []],
    ['a tap on a group output changes nothing', ['r1', 'r2'], ['conv1+relu1->r1[c1]', 'conv2+in2+relu2->r2[c2,n2]']],
  ];
  it.each(cases)('%s', (_, taps, expected) => {
    expect(brief(fusionGroups(g, plan, new Set(taps)))).toEqual(expected);
  });

  it('a graph output inside a chain splits it as a tap does', () => {
    const withOutput = smallNet(['y', 'c2']);
    expect(brief(fusionGroups(withOutput, resolvePlan(withOutput, generic), new Set()))).toEqual([
      'conv1+relu1->r1[c1]',
      'in2+relu2->r2[n2]',
    ]);
  });

  it('records the group precision from its first node, and indexes nodes', () => {
    const promoted = resolvePlan(g, generic, [['conv2', 'int16']]);
    const groups = fusionGroups(g, promoted, new Set());
    expect(groups.map((gr) => gr.precision)).toEqual(['int8', 'int16']);
    expect(groups[1].opTypes).toEqual(['Conv', 'InstanceNormalization', 'Relu']);
    expect(groupByNode(groups).get('in2')).toBe(groups[1]);
    expect(groupByNode(groups).has('concat')).toBe(false);
    expect([...innerTensorSet(groups)]).toEqual(['c1', 'c2', 'n2']);
  });

  it('needs a single consumer on every inner edge', () => {
    // c1 feeds relu1 and the Add: Conv→Relu cannot fuse, but Conv→Add from the second conv can.
    const branchy = graphOf(
      [
        ['conv1', 'Conv', ['x', 'w'], ['c1']],
        ['relu1', 'Relu', ['c1'], ['r1']],
        ['conv2', 'Conv', ['r1', 'w'], ['c2']],
        ['add', 'Add', ['c2', 'c1'], ['y']],
      ],
      { initializers: [['w', [3, 3, 1, 1]]] },
    );
    expect(brief(fusionGroups(branchy, resolvePlan(branchy, generic), new Set()))).toEqual(['conv2+add->y[c2]']);
  });

  it('matches greedily in topological order and never reuses a node', () => {
    const profile = parseProfile(
      {
        quantizedOps: ['Conv'],
        weights: { granularity: 'per-tensor', symmetric: true },
        activations: { symmetric: true },
        bias: 'float',
        floatOps: 'fp32',
        fusion: [
          ['Relu', 'Conv'],
          ['Conv', 'Relu'],
        ],
      },
      'test',
      'test',
    );
    const chain = graphOf(
      [
        ['conv1', 'Conv', ['x', 'w'], ['c1']],
        ['relu1', 'Relu', ['c1'], ['r1']],
        ['conv2', 'Conv', ['r1', 'w'], ['c2']],
        ['relu2', 'Relu', ['c2'], ['y']],
      ],
      { initializers: [['w', [3, 3, 1, 1]]] },
    );
    expect(brief(fusionGroups(chain, resolvePlan(chain, profile), new Set()))).toEqual(['conv1+relu1->r1[c1]', 'conv2+relu2->y[c2]']);
  });

  it('a profile with no patterns has no groups', () => {
    const none = parseProfile(
      {
        quantizedOps: ['Conv'],
        weights: { granularity: 'per-tensor', symmetric: true },
        activations: { symmetric: true },
        bias: 'float',
        floatOps: 'fp32',
      },
      't',
      't',
    );
    expect(fusionGroups(g, resolvePlan(g, none), new Set())).toEqual([]);
  });
});
