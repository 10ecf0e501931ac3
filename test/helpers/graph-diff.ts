import type { AttrValue, Graph, ValueInfo } from '../../src/core/graph.js';
import type { Tensor } from '../../src/core/tensor.js';

/** Element-wise identity (NaN equals NaN, -0 differs from 0), so bit patterns must survive. */
export function sameTensor(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}

function sameAttr(a: AttrValue, b: AttrValue): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'tensor' && b.kind === 'tensor') return sameTensor(a.value, b.value);
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameValueInfo(a: ValueInfo | undefined, b: ValueInfo | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Differences between two graph views, node by node; [] when they agree. */
export function graphDiff(a: Graph, b: Graph): string[] {
  const out: string[] = [];
  if (a.name !== b.name) out.push(`graph name '${a.name}' vs '${b.name}'`);
  if (a.nodes.length !== b.nodes.length) out.push(`${a.nodes.length} nodes vs ${b.nodes.length}`);
  a.nodes.forEach((n, i) => {
    const m = b.nodes[i];
    if (!m) return;
    const where = `node ${i} '${n.name}'`;
    if (n.name !== m.name || n.opType !== m.opType || n.domain !== m.domain) {
      out.push(`${where}: ${n.opType}/${n.domain} vs '${m.name}' ${m.opType}/${m.domain}`);
    }
    if (JSON.stringify(n.inputs) !== JSON.stringify(m.inputs)) out.push(`${where}: inputs differ`);
    if (JSON.stringify(n.outputs) !== JSON.stringify(m.outputs)) out.push(`${where}: outputs differ`);
    if (n.attributes.size !== m.attributes.size) out.push(`${where}: ${n.attributes.size} attributes vs ${m.attributes.size}`);
    for (const [k, v] of n.attributes) {
      const w = m.attributes.get(k);
      if (!w || !sameAttr(v, w)) out.push(`${where}: attribute '${k}' differs`);
    }
  });
  const lists: [string, readonly ValueInfo[], readonly ValueInfo[]][] = [
    ['input', a.inputs, b.inputs],
    ['output', a.outputs, b.outputs],
  ];
  for (const [what, x, y] of lists) {
    if (x.length !== y.length || x.some((v, i) => !sameValueInfo(v, y[i]))) out.push(`${what}s differ`);
  }
  if (a.initializers.size !== b.initializers.size) out.push(`${a.initializers.size} initializers vs ${b.initializers.size}`);
  for (const [k, v] of a.initializers)
    if (JSON.stringify(v) !== JSON.stringify(b.initializers.get(k))) out.push(`initializer '${k}' differs`);
  for (const [k, v] of a.values) if (!sameValueInfo(v, b.values.get(k))) out.push(`value info '${k}' differs`);
  if (JSON.stringify([...a.opsets]) !== JSON.stringify([...b.opsets])) out.push('opsets differ');
  return out;
}
