import type { Achievable, ComparisonRow, TapPerturbation } from '../../analysis/comparison.js';
import { computeMetrics, metricValue, type MetricOptions, type Metrics } from '../../analysis/metrics.js';
import { UserError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { isQuantizable, withOverrides } from '../../quant/plan.js';
import { perturbationOf, worstValue, type Criterion } from './compare-report.js';
import type { ModelContext } from '../context.js';
import { silent, type ProgressListener } from '../events.js';
import { quantBackendFor } from '../quantize.js';
import type { QuantSetup } from '../quant-setup.js';

/** The two extra quant runs of a compare: without taps (tap perturbation) and with the INT16 plan (achievable). */

export interface ExtraRunOptions {
  readonly ctx: ModelContext;
  readonly quant: QuantSetup;
  readonly onProgress?: ProgressListener;
}

/** computeMetrics, or null when the pair cannot be compared (another size, a non-numeric type). */
export function metricsOrNull(ref: Tensor, test: Tensor, options: MetricOptions = {}): Metrics | null {
  try {
    return computeMetrics(ref, test, options);
  } catch (error) {
    if (error instanceof UserError) return null;
    throw error;
  }
}

/**
 * The outputs' metric with the run's taps versus with none: one more quant run of the model
 * without taps. When the taps are the outputs alone the two runs are the same model, so no run is
 * needed.
 */
export async function tapPerturbation(
  options: ExtraRunOptions,
  taps: readonly string[],
  rows: readonly ComparisonRow[],
  floatOutputs: ReadonlyMap<string, Tensor>,
  criterion: Criterion,
): Promise<TapPerturbation | null> {
  const { ctx, quant } = options;
  const outputs = ctx.graph.outputs.map((o) => o.name);
  const tapped = taps.some((t) => !outputs.includes(t));
  const onProgress = options.onProgress ?? silent;
  let untapped: Map<string, Tensor> | null = null;
  if (tapped) {
    onProgress({ type: 'stage', stage: 'perturbation', detail: 'quant run without taps' });
    const backend = await quantBackendFor(ctx, quant.plan, quant.calibration);
    try {
      untapped = await backend.run(ctx.feeds, []);
    } finally {
      await backend.dispose();
    }
  }
  const pairs: { output: string; withTaps: Metrics; withoutTaps: Metrics }[] = [];
  for (const o of outputs) {
    const row = rows.find((r) => r.tensor === o);
    const ref = floatOutputs.get(o);
    if (!row?.metrics || !ref) continue;
    const value = untapped ? untapped.get(o) : undefined;
    const without = untapped ? (value ? metricsOrNull(ref, value) : null) : row.metrics;
    if (without) pairs.push({ output: o, withTaps: row.metrics, withoutTaps: without });
  }
  return perturbationOf(criterion.metric, pairs);
}

/** What the INT16 plan (`*=int16` over the plan) reaches at the outputs, without taps; null when the profile quantizes no node. */
export async function achievableValue(
  options: ExtraRunOptions,
  floatOutputs: ReadonlyMap<string, Tensor>,
  criterion: Criterion,
): Promise<Achievable | null> {
  const { ctx, quant } = options;
  if (!ctx.graph.nodes.some((n) => isQuantizable(quant.plan.profile, n))) return null;
  (options.onProgress ?? silent)({ type: 'stage', stage: 'achievable', detail: 'quant run of the INT16 plan' });
  const plan = withOverrides(quant.plan, ctx.graph, [['*', 'int16']]);
  const backend = await quantBackendFor(ctx, plan, quant.calibration);
  let out: Map<string, Tensor>;
  try {
    out = await backend.run(ctx.feeds, []);
  } finally {
    await backend.dispose();
  }
  const values: number[] = [];
  for (const [o, ref] of floatOutputs) {
    const value = out.get(o);
    const m = value ? metricsOrNull(ref, value) : null;
    if (m) values.push(metricValue(m, criterion.metric));
  }
  return values.length > 0 ? { label: 'INT16 plan', value: worstValue(criterion.metric, values) } : null;
}
