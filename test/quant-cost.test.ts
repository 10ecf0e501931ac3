import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeMacs, planCost, promotionCost } from '../src/quant/cost.js';
import { candidateRegions } from '../src/quant/promotion-regions.js';
import { resolvePlan } from '../src/quant/plan.js';
import { loadProfile } from '../src/store/profile-file.js';
import { parseProfile } from '../src/quant/profile.js';
import { graphOf, smallNet } from './quant-fixtures.js';

const generic = loadProfile('generic-int8');
const g = smallNet();
const node = (graph: ReturnType<typeof graphOf>, name: string) => graph.nodes.find((n) => n.name === name)!;

describe('MACs', () => {
  it('Conv: output elements × C/g × kernel', () => {
    // conv1: 1·4·8·8 outputs × 3·3·3; conv2: 256 × 4·3·3; conv3: 1·2·8·8 × 8·1·1.
    expect(nodeMacs(g, node(g, 'conv1'))).toBe(256 * 27);
    expect(nodeMacs(g, node(g, 'conv2'))).toBe(256 * 36);
    expect(nodeMacs(g, node(g, 'conv3'))).toBe(128 * 8);
    expect(nodeMacs(g, node(g, 'relu1'))).toBe(0);
  });

  it('ConvTranspose, MatMul and Gemm', () => {
    const m = graphOf(
      [
        ['t', 'ConvTranspose', ['x', 'wt'], ['t_out']],
        ['f', 'Flatten', ['t_out'], ['f_out']],
        ['g', 'Gemm', ['f_out', 'wg'], ['g_out'], { transB: { kind: 'int', value: 1 } }],
        ['m', 'MatMul', ['g_out', 'wm'], ['y']],
      ],
      {
        inputs: [['x', [1, 3, 4, 4]]],
        initializers: [
          ['wt', [3, 2, 3, 3]],
          ['wg', [10, 200]],
          ['wm', [10, 7]],
        ],
        shapes: [
          ['t_out', [1, 2, 10, 10]],
          ['f_out', [1, 200]],
          ['y', [1, 7]],
        ],
      },
    );
    expect(nodeMacs(m, node(m, 't'))).toBe(48 * 2 * 9);
    expect(nodeMacs(m, node(m, 'g'))).toBe(1 * 10 * 200);
    expect(nodeMacs(m, node(m, 'm'))).toBe(7 * 10);
    expect(nodeMacs(m, node(m, 'm'), new Map([['y', [5, 7]]]))).toBe(5 * 7 * 10);
  });

  it('unknown shapes give null', () => {
    const m = graphOf([['c', 'Conv', ['x', 'w'], ['y']]], { initializers: [['w', [2, 3, 1, 1]]] });
    expect(nodeMacs(m, node(m, 'c'))).toBeNull();
  });
});

describe('planCost', () => {
  it('all int8: nothing above INT8', () => {
    const c = planCost(g, resolvePlan(g, generic));
    expect(c.totalMacs).toBe(6912 + 9216 + 1024);
    expect([c.macsAboveInt8, c.macShareAboveInt8, c.weightShareAboveInt8]).toEqual([0, 0, 0]);
    expect(c.weightParams).toBe(108 + 144 + 16);
    expect(c.weightBytes).toBe(268);
    expect(c.byPrecision.int8).toEqual({ nodes: 3, macs: 17152 });
    expect(c.byPrecision.fp32.nodes).toBe(4);
    expect(c.unknownMacNodes).toEqual([]);
  });

  it('one conv promoted to int16 and one to fp32', () => {
    const c = planCost(
      g,
      resolvePlan(g, generic, [
        ['conv2', 'int16'],
        ['conv3', 'fp32'],
      ]),
    );
    expect(c.macsAboveInt8).toBe(9216 + 1024);
    expect(c.macShareAboveInt8).toBeCloseTo(10240 / 17152, 12);
    expect(c.weightParamsAboveInt8).toBe(144 + 16);
    expect(c.weightShareAboveInt8).toBeCloseTo(160 / 268, 12);
    expect(c.weightBytes).toBe(108 + 144 * 2 + 16 * 4);
    expect(c.weightBytesAllInt8).toBe(268);
  });

  it('W8A16: int16 nodes keep one-byte weights when the profile says so', () => {
    const w8 = { ...generic, weights: { ...generic.weights, int16Bits: 8 as const } };
    const c = planCost(g, resolvePlan(g, w8, [['*', 'int16']]));
    expect(c.macShareAboveInt8).toBe(1);
    expect(c.weightShareAboveInt8).toBe(0);
    expect(c.weightBytes).toBe(268);
  });
});

describe('device cost from a profile cost table', () => {
  const table = {
    '*': { int8: 1, a16w8: 5, int16: 2, fp16: 2, fp32: 8 },
    Conv: { int16: 4 },
  };
  const genericJson = JSON.parse(readFileSync(new URL('../src/quant/profiles/generic-int8.json', import.meta.url), 'utf8')) as object;
  const withCost = parseProfile({ ...genericJson, cost: table }, 'chip.json', 'chip');

  it('is Σ MACs × cost per MAC at each precision, against all-INT8', () => {
    const plan = resolvePlan(g, withCost, [
      ['conv2', 'int16'],
      ['conv3', 'fp32'],
    ]);
    const c = planCost(g, plan);
    // conv1 6912 MACs at int8 (1), conv2 9216 at int16 (Conv: 4), conv3 1024 at fp32 (*: 8).
    expect(c.device).toEqual({ cost: 6912 + 9216 * 4 + 1024 * 8, allInt8: 6912 + 9216 + 1024, ratio: (6912 + 36864 + 8192) / 17152 });
    expect(planCost(g, resolvePlan(g, generic, [])).device).toBeUndefined();
  });

  it("orders fix's candidates by the cost the device adds: here INT16 before A16W8, which this chip makes dearer", () => {
    const culprit = node(g, 'conv3');
    const byMacs = candidateRegions(g, resolvePlan(g, generic, []), culprit).map((r) =>
      r.changes.map((c) => `${c.node}:${c.to}`).join('+'),
    );
    const byDevice = candidateRegions(g, resolvePlan(g, withCost, []), culprit).map((r) =>
      r.changes.map((c) => `${c.node}:${c.to}`).join('+'),
    );
    expect(byMacs.indexOf('conv3:a16w8')).toBeLessThan(byMacs.indexOf('conv3:int16'));
    expect(byDevice.indexOf('conv3:int16')).toBeLessThan(byDevice.indexOf('conv3:a16w8'));
    // conv3 -> int16 adds 1024 × (4 − 1); -> a16w8 adds 1024 × (5 − 1).
    expect(promotionCost(g, resolvePlan(g, withCost, []), [{ node: 'conv3', from: 'int8', to: 'int16' }])).toBe(1024 * 3);
    expect(promotionCost(g, resolvePlan(g, withCost, []), [{ node: 'conv3', from: 'int8', to: 'a16w8' }])).toBe(1024 * 4);
  });

  it('a cost table without every precision in * is refused in one sentence', () => {
    expect(() => parseProfile({ ...genericJson, cost: { '*': { int8: 1 } } }, 'chip.json', 'chip')).toThrow(
      "Profile 'chip.json': field 'cost.*.a16w8' is missing; the * entry gives every precision.",
    );
    expect(() => parseProfile({ ...genericJson, cost: { ...table, Conv: { int16: -1 } } }, 'chip.json', 'chip')).toThrow(
      "Profile 'chip.json': field 'cost.Conv.int16' must be a positive number, not -1.",
    );
  });
});
