import { describe, expect, it } from 'vitest';
import { parseModel, renameTensors, serializeModel, tensorNames } from '../src/onnx/index.js';
import type { GraphProto } from '../src/onnx/proto-types.js';
import { decodeModelProto } from '../src/onnx/schema.js';
import { branchyBytes } from './helpers/branchy-model.js';

const NUL = { x: 'x\u0000', w: 'w\u0000', s: 's\u0000', r: 'r\u0000', sp: 'sp\u0000' };
const SAFE = { x: 'X', w: 'W', s: 'S', r: 'R', sp: 'SP' };

describe('tensorNames', () => {
  it('lists every tensor name of the main graph and of the subgraphs, and no node name', () => {
    const names = tensorNames(parseModel(branchyBytes(NUL)));
    expect([...names].sort()).toEqual(['cond', 'e', 'r\u0000', 's\u0000', 'sp\u0000', 'sp_i', 't', 'w\u0000', 'x\u0000']);
  });
});

describe('renameTensors', () => {
  it('renames a tensor everywhere: nodes, subgraphs reading the outer scope, inputs, outputs, value infos, initializers, annotations', () => {
    const model = parseModel(branchyBytes(NUL));
    const renamed = renameTensors(model, new Map(Object.keys(NUL).map((k) => [NUL[k as keyof typeof NUL], SAFE[k as keyof typeof SAFE]])));
    // The same model as one built with the safe names from the start, byte for byte.
    expect(Buffer.from(serializeModel(renamed)).equals(Buffer.from(branchyBytes(SAFE)))).toBe(true);
    // The original is left as it was.
    expect(Buffer.from(serializeModel(model)).equals(Buffer.from(branchyBytes(NUL)))).toBe(true);
    const graph = decodeModelProto(serializeModel(renamed)).graph as GraphProto;
    expect(graph.node?.[1].attribute?.[0].g?.node?.[0].input).toEqual(['S']);
    expect(graph.node?.[1].attribute?.[1].g?.node?.[0].input).toEqual(['S']);
  });

  it('returns the model itself when no name it holds is renamed', () => {
    const model = parseModel(branchyBytes(SAFE));
    expect(renameTensors(model, new Map())).toBe(model);
    expect(renameTensors(model, new Map([['absent', 'other']]))).toBe(model);
  });
});
