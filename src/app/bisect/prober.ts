import { rowPasses } from '../../analysis/comparison.js';
import { computeMetrics, type Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import { InternalError, UserError } from '../../core/errors.js';
import type { Graph, GraphNode } from '../../core/graph.js';
import { byteSize, type Tensor } from '../../core/tensor.js';
import type { FloatBackend } from '../../backends/float.js';
import type { QuantBackend } from '../../backends/quant.js';
import { fusionGroups, groupByNode } from '../../quant/fusion.js';
import type { Plan } from '../../quant/plan.js';
import { passesCriterion, type Criterion } from '../compare/compare-report.js';
import { allActivationTensors, floatBackendFor, type ModelContext } from '../context.js';
import { DEFAULT_MAX_MEMORY } from '../../analysis/memory.js';
import { quantBackendFor } from '../quantize.js';
import type { QuantSetup } from '../quant-setup.js';

/** The runs behind bisect and fix: a plan on the quant backend beside the float reference, compared at chosen taps. */

/** One compared tensor of a bisect or fix run. */
export interface TensorVerdict {
  readonly tensor: string;
  /** Producing node ('' for a graph input). */
  readonly node: string;
  readonly opType: string;
  readonly metrics: Metrics;
  readonly pass: boolean;
}

/**
 * Runs one plan on the quant backend beside the float reference and compares tapped tensors.
 * The float session is built once with every activation tapped (taps are free there) and each
 * run fetches only what it compares; reference tensors are kept, most recently used first, up to
 * `maxMemory` bytes (the outputs always), since fix probes the same tensors round after round.
 * The quant backend builds a model for exactly each tap set, so fusion is broken at those taps
 * only. `quantRuns` counts quant executions over all plans.
 */
export class Prober {
  private quant: QuantBackend | null = null;
  private referenceOutputs: Map<string, Tensor> | null = null;
  /** Reference tensors by name, least recently used first. */
  private readonly references = new Map<string, Tensor>();
  private runsBefore = 0;

  private constructor(
    readonly ctx: ModelContext,
    private readonly setup: QuantSetup,
    private readonly float: FloatBackend,
    private readonly maxMemory: number,
  ) {}

  static async create(ctx: ModelContext, setup: QuantSetup, maxMemory = DEFAULT_MAX_MEMORY): Promise<Prober> {
    const float = await floatBackendFor(ctx);
    await float.prepare(allActivationTensors(ctx.graph).filter((t) => ctx.graph.producer.has(t)));
    return new Prober(ctx, setup, float, maxMemory);
  }

  /** The float reference of the tensors, from the cache or one float run. */
  private async reference(taps: readonly string[]): Promise<Map<string, Tensor>> {
    if (!this.referenceOutputs) this.referenceOutputs = await this.float.run(this.ctx.feeds, []);
    const outputs = this.referenceOutputs;
    const missing = taps.filter((t) => !outputs.has(t) && !this.references.has(t));
    const fetched = missing.length > 0 ? await this.float.fetch(this.ctx.feeds, missing) : new Map<string, Tensor>();
    const out = new Map<string, Tensor>();
    for (const t of taps) {
      const value = outputs.get(t) ?? this.references.get(t) ?? fetched.get(t);
      if (!value) continue;
      out.set(t, value);
      if (outputs.has(t)) continue;
      this.references.delete(t);
      this.references.set(t, value);
    }
    let bytes = 0;
    for (const v of this.references.values()) bytes += byteSize(v);
    for (const [t, v] of this.references) {
      if (bytes <= this.maxMemory) break;
      this.references.delete(t);
      bytes -= byteSize(v);
    }
    return out;
  }

  get outputs(): string[] {
    return this.ctx.graph.outputs.map((o) => o.name);
  }

  get quantRuns(): number {
    return this.runsBefore + (this.quant?.runs ?? 0);
  }

  /** Switches the quant backend to another plan (same profile and calibration). */
  async usePlan(plan: Plan): Promise<void> {
    await this.switchTo(plan);
  }

  private async switchTo(plan: Plan): Promise<QuantBackend> {
    if (this.quant) {
      this.runsBefore += this.quant.runs;
      await this.quant.dispose();
    }
    this.quant = await quantBackendFor(this.ctx, plan, this.setup.calibration);
    return this.quant;
  }

  /** One quant run with these taps; returns the metrics of the taps and of every graph output. */
  async measure(taps: readonly string[]): Promise<{ taps: Map<string, Metrics>; outputs: Map<string, Metrics> }> {
    const quant = this.quant ?? (await this.switchTo(this.setup.plan));
    const test = await quant.run(this.ctx.feeds, taps);
    const reference = await this.reference([...taps, ...this.outputs]);
    const compare = (t: string): Metrics => {
      const ref = reference.get(t);
      const got = test.get(t);
      if (!ref || !got) throw new UserError(`Tensor '${displayName(t)}' came back from only one backend; it cannot be compared.`);
      try {
        return computeMetrics(ref, got);
      } catch (error) {
        if (error instanceof UserError) throw new UserError(`Tensor '${displayName(t)}': ${error.message}`, { cause: error });
        throw error;
      }
    };
    return {
      taps: new Map(taps.map((t) => [t, compare(t)])),
      outputs: new Map(this.outputs.map((t) => [t, compare(t)])),
    };
  }

  verdict(tensor: string, metrics: Metrics, criterion: Criterion): TensorVerdict {
    const node = this.ctx.graph.producer.get(tensor);
    const isOutput = this.ctx.graph.outputs.some((o) => o.name === tensor);
    return { tensor, node: node?.name ?? '', opType: node?.opType ?? '', metrics, pass: passesCriterion(metrics, criterion, isOutput) };
  }

  /** Releases both backends; quantRuns keeps its count. */
  async dispose(): Promise<void> {
    if (this.quant) {
      this.runsBefore += this.quant.runs;
      await this.quant.dispose();
      this.quant = null;
    }
    this.references.clear();
    await this.float.dispose();
  }
}

/** A tensor's metrics in a measurement that asked for it: measure returns every tap and every graph output. */
export function measuredMetrics(measured: ReadonlyMap<string, Metrics>, tensor: string): Metrics {
  const metrics = measured.get(tensor);
  if (!metrics) throw new InternalError(`The prober measured no metrics for '${displayName(tensor)}'.`);
  return metrics;
}

/** Whether a tensor's metrics meet the criterion along the graph (rowPasses: no NaN/Inf introduced, the metric on the right side). */
export function passes(m: Metrics, c: Criterion): boolean {
  return rowPasses(m, c.metric, c.threshold);
}

/** Whether the node changes values in the quant model: quantized, fp16, or in a group stored at either. */
export function altersUnder(graph: Graph, plan: Plan): (node: GraphNode) => boolean {
  const groupOf = groupByNode(fusionGroups(graph, plan));
  return (node) => {
    const own = plan.precision.get(node.name) ?? plan.profile.floatOps;
    const kernel = groupOf.get(node.name)?.precision ?? own;
    return own !== 'fp32' || kernel !== 'fp32';
  };
}

/** Whether a tensor holds floats the metrics can compare (unknown dtypes count as float). */
export function isFloatTensor(ctx: ModelContext, tensor: string): boolean {
  const dtype = ctx.values.get(tensor)?.dtype ?? ctx.graph.values.get(tensor)?.dtype;
  return dtype === undefined || dtype === null || dtype === 'float32' || dtype === 'float16' || dtype === 'float64' || dtype === 'bfloat16';
}
