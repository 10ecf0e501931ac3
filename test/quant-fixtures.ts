import { buildGraph, type AttrValue, type Graph, type GraphNode } from '../src/core/graph.js';

type NodeSpec = [name: string, opType: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>];

/** A graph from a node table; initializers are float32 with the given dims. */
export function graphOf(
  nodes: NodeSpec[],
  options: { inputs?: [string, number[]][]; outputs?: string[]; initializers?: [string, number[]][]; shapes?: [string, number[]][] } = {},
): Graph {
  return buildGraph({
    name: 'fixture',
    nodes: nodes.map(([name, opType, inputs, outputs, attrs]): Omit<GraphNode, 'index'> => ({
      name,
      opType,
      domain: '',
      inputs,
      outputs,
      attributes: new Map(Object.entries(attrs ?? {})),
    })),
    inputs: (options.inputs ?? [['x', [1, 3, 8, 8]]]).map(([name, shape]) => ({ name, dtype: 'float32' as const, shape })),
    outputs: (options.outputs ?? ['y']).map((name) => ({ name, dtype: 'float32' as const })),
    initializers: (options.initializers ?? []).map(([name, dims]) => ({ name, dtype: 'float32' as const, dims })),
    valueInfo: (options.shapes ?? []).map(([name, shape]) => ({ name, dtype: 'float32' as const, shape })),
    opsets: new Map([['', 17]]),
  });
}

/**
 * x[1,3,8,8] → conv1 → c1 → relu1 → r1 ─┬→ conv2 → c2 → in2 → n2 → relu2 → r2 ─┐
 *                                       └──────────────────────────────────────┴→ concat → cat → conv3 → y[1,2,8,8]
 */
export function smallNet(outputs: string[] = ['y']): Graph {
  return graphOf(
    [
      ['conv1', 'Conv', ['x', 'w1', 'b1'], ['c1']],
      ['relu1', 'Relu', ['c1'], ['r1']],
      ['conv2', 'Conv', ['r1', 'w2'], ['c2']],
      ['in2', 'InstanceNormalization', ['c2', 's2', 'bb2'], ['n2']],
      ['relu2', 'Relu', ['n2'], ['r2']],
      ['concat', 'Concat', ['r1', 'r2'], ['cat'], { axis: { kind: 'int', value: 1 } }],
      ['conv3', 'Conv', ['cat', 'w3', 'b3'], ['y']],
    ],
    {
      outputs,
      initializers: [
        ['w1', [4, 3, 3, 3]],
        ['b1', [4]],
        ['w2', [4, 4, 3, 3]],
        ['s2', [4]],
        ['bb2', [4]],
        ['w3', [2, 8, 1, 1]],
        ['b3', [2]],
      ],
      shapes: [
        ['c1', [1, 4, 8, 8]],
        ['r1', [1, 4, 8, 8]],
        ['c2', [1, 4, 8, 8]],
        ['n2', [1, 4, 8, 8]],
        ['r2', [1, 4, 8, 8]],
        ['cat', [1, 8, 8, 8]],
        ['y', [1, 2, 8, 8]],
      ],
    },
  );
}
