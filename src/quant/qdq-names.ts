import type { Graph } from '../core/graph.js';

/** Hands out tensor and node names that collide with nothing in the graph or with each other. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  constructor(graph: Graph) {
    for (const n of graph.nodes) {
      this.taken.add(n.name);
      for (const t of [...n.inputs, ...n.outputs]) this.taken.add(t);
    }
    for (const v of graph.values.keys()) this.taken.add(v);
    for (const i of graph.initializers.keys()) this.taken.add(i);
  }

  /** `base` itself when free, else `base_1`, `base_2`, … */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) name = `${base}_${k}`;
    this.taken.add(name);
    return name;
  }
}
