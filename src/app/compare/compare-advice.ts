import type { AdviceGraph, CalibrationFacts, ValueStats } from '../../analysis/advisor.js';
import { valueStats } from '../../analysis/advisor.js';
import type { ValueRange } from '../../analysis/metrics.js';
import { activationInputs, type Graph } from '../../core/graph.js';
import type { Tensor } from '../../core/tensor.js';
import { rangeFromTable, type CalibrationTable } from '../../quant/calibration-table.js';
import { promotionOf, type Plan } from '../../quant/plan.js';
import { activationQuant, activationStorage, isQuantPrecision, type Profile } from '../../quant/profile.js';

/** The facts the advisor reads, gathered from a model's graph, plan and calibration (see analysis/advisor.ts). */

/** The graph around a tensor, for the advisor; `values` (inferred shapes) gives shapeOf. */
export function adviceGraph(
  graph: Graph,
  values?: ReadonlyMap<string, { readonly shape: readonly (number | string | null)[] | null }>,
  plan?: Plan,
): AdviceGraph {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  return {
    ...(plan
      ? {
          promotionOf: (node: string) => {
            const n = byName.get(node);
            return n ? promotionOf(plan, n) : null;
          },
        }
      : {}),
    producerOf: (tensor) => {
      const node = graph.producer.get(tensor);
      return node ? { name: node.name, opType: node.opType } : undefined;
    },
    shapeOf: (tensor) => {
      const shape = values?.get(tensor)?.shape;
      return shape && shape.every((d): d is number => typeof d === 'number') ? shape : undefined;
    },
    inputsOf: (tensor) => {
      const node = graph.producer.get(tensor);
      return node ? [...new Set(activationInputs(graph, node))] : [];
    },
    consumersOf: (tensor) => (graph.consumers.get(tensor) ?? []).map((n) => ({ name: n.name, opType: n.opType })),
  };
}

/**
 * The precision at which the quant model holds a tensor on an integer grid: its storage precision
 * when its kernel stores it quantized, else the narrowest precision of the quantized nodes that
 * read it as an activation (each reads it through its own Q/DQ pair, fp16 storage or not);
 * undefined when neither.
 */
export function quantizedPrecisionOf(
  graph: Graph,
  plan: Plan,
  storage: ReadonlyMap<string, 'int8' | 'int16' | 'fp16'>,
): (tensor: string) => 'int8' | 'int16' | undefined {
  return (tensor) => {
    const s = storage.get(tensor);
    if (s === 'int8' || s === 'int16') return s;
    let found: 'int8' | 'int16' | undefined;
    for (const n of graph.consumers.get(tensor) ?? []) {
      const precision = plan.precision.get(n.name);
      if (!isQuantPrecision(precision) || !activationInputs(graph, n).includes(tensor)) continue;
      const p = activationStorage(precision);
      if (p === 'int8' || found === undefined) found = p;
    }
    return found;
  };
}

/**
 * The values a tensor's integer grid covers (quant/qparams.ts): a symmetric range is ±max(|min|, |max|),
 * an asymmetric one is widened to include 0. Values outside it saturate; clipRatio counts them.
 */
export function gridRange(table: CalibrationTable, profile: Profile, tensor: string, precision: 'int8' | 'int16'): ValueRange | undefined {
  const aq = activationQuant(profile, precision);
  const r = rangeFromTable(table, tensor, aq.bits);
  if (!r) return undefined;
  if (aq.symmetric) {
    const t = Math.max(Math.abs(r.min), Math.abs(r.max));
    return { min: -t, max: t };
  }
  return { min: Math.min(r.min, 0), max: Math.max(r.max, 0) };
}

/** The calibration as the advisor reads it: method, inputs, and each tensor's grid and observed ranges. */
export function calibrationFacts(
  table: CalibrationTable,
  profile: Profile,
  precisionOf: (tensor: string) => 'int8' | 'int16' | undefined,
): CalibrationFacts {
  return {
    method: table.method,
    percentile: table.percentile,
    samples: table.samples,
    sources: table.inputs.map((i) => i.source),
    rangeOf: (tensor) => {
      if (!Object.prototype.hasOwnProperty.call(table.tensors, tensor)) return undefined;
      const t = table.tensors[tensor];
      const p = precisionOf(tensor);
      const used = p ? gridRange(table, profile, tensor, p) : undefined;
      return { observed: { min: t.min, max: t.max }, ...(used ? { used } : {}) };
    },
  };
}

/** Mean and spread of each output's reference value. */
export function outputStats(outputs: ReadonlyMap<string, Tensor>): Map<string, ValueStats> {
  return new Map([...outputs].map(([name, t]) => [name, valueStats(t)]));
}
