import { altersUnder, isFloatTensor, measuredMetrics, passes, type Prober, type TensorVerdict } from './prober.js';
import { BisectSearch, bisectCandidates, bisectRunBudget, type Certificate } from '../../analysis/bisect.js';
import type { TapPerturbation } from '../../analysis/comparison.js';
import { metricValue, type Metrics } from '../../analysis/metrics.js';
import { displayName } from '../../core/closest.js';
import { required } from '../../core/errors.js';
import type { Plan } from '../../quant/plan.js';
import { perturbationOf, type Criterion } from '../compare/compare-report.js';
import { silent, throwIfCancelled, type ProgressListener } from '../events.js';

/** Locating the culprit behind one failing output under a plan: the loop of bisect's state machine, shared by bisect, fix and the TUI. */

export interface ProbeSummary {
  readonly kind: 'search' | 'certificate';
  readonly taps: readonly TensorVerdict[];
  /** The bisected output's metric value in this probe's run (for the tap perturbation). */
  readonly output: number;
}

export interface CulpritSearch {
  readonly culprit: { readonly node: string; readonly opType: string; readonly tensor: string; readonly metrics: Metrics };
  /** The culprit node's activation inputs; `metrics` null for those identical to the reference by construction. */
  readonly inputs: readonly {
    readonly tensor: string;
    readonly metrics: Metrics | null;
    readonly pass: boolean;
    readonly identical: boolean;
  }[];
  readonly probes: readonly ProbeSummary[];
  readonly monotone: boolean;
  readonly certificate: Certificate;
  readonly candidates: number;
  readonly runBudget: number;
  /** With certificate `budget`: unmeasured candidates before the culprit that might hold the first failure. */
  readonly uncertain: readonly string[];
  /** Every tensor measured, with the latest metrics (a later round of fix may reuse them). */
  readonly observed: ReadonlyMap<string, Metrics>;
  readonly perturbation: TapPerturbation | null;
}

export interface LocateOptions {
  readonly prober: Prober;
  readonly plan: Plan;
  readonly output: string;
  /** The outputs' metrics in the run with no taps (already counted). */
  readonly baseline: ReadonlyMap<string, Metrics>;
  readonly criterion: Criterion;
  /** Metrics measured before that are still valid for this plan. */
  readonly known?: ReadonlyMap<string, Metrics>;
  /** A tensor to certify before searching (see BisectInit.suspect). */
  readonly suspect?: string;
  readonly onProgress?: ProgressListener;
  /** Called once per probe, as soon as its run is measured, with the criterion it was judged by. */
  readonly onProbe?: (probe: ProbeSummary, criterion: Criterion) => void;
  readonly signal?: AbortSignal;
}

/**
 * Drives the bisect state machine (analysis/bisect.ts) for one failing output under a plan: one
 * quant run per probe, compared with the float reference. The prober must already use the plan.
 */
export async function locateCulprit(options: LocateOptions): Promise<CulpritSearch> {
  const { prober, plan, output, criterion } = options;
  const { ctx } = prober;
  const onProgress = options.onProgress ?? silent;
  const outputMetrics = measuredMetrics(options.baseline, output);
  const candidates = bisectCandidates(ctx.graph, output, { isFloat: (t) => isFloatTensor(ctx, t), alters: altersUnder(ctx.graph, plan) });
  // The failing output always ends the list, even if the plan seems to leave it untouched.
  if (candidates[candidates.length - 1]?.tensor !== output) candidates.push({ tensor: output, inputs: [] });
  const known = new Map(options.known ?? []);
  const budget = bisectRunBudget(candidates.length);
  // The run with no taps is the first of the budget (DESIGN.md §8: ⌈log2 N⌉ + 2 quant runs).
  const search = new BisectSearch<Metrics>({
    // A suspect's certificate (fix's previous culprit) is one probe on top: a cleared suspect then leaves a whole search.
    candidates,
    outputResult: outputMetrics,
    passes: (m) => passes(m, criterion),
    known,
    suspect: options.suspect,
    maxProbes: budget - 1 + (options.suspect !== undefined ? 1 : 0),
  });
  const observed = new Map<string, Metrics>(known);
  observed.set(output, outputMetrics);
  const probes: ProbeSummary[] = [];
  const pairs: { output: string; withTaps: Metrics; withoutTaps: Metrics }[] = [];
  for (;;) {
    const step = search.next();
    if (step.done) {
      const o = step.outcome;
      const node = required(ctx.graph.producer.get(o.culprit), `bisect's culprit '${displayName(o.culprit)}' has no producing node`);
      const tested = new Map(o.inputs.map((i) => [i.tensor, i]));
      const canDiffer = new Set(candidates.map((c) => c.tensor));
      const inputs = [...new Set(node.inputs)]
        .filter((t) => t !== '' && !ctx.graph.initializers.has(t) && isFloatTensor(ctx, t))
        .map((t) => {
          const r = tested.get(t);
          if (r) return { tensor: t, metrics: r.result, pass: r.pass, identical: false };
          if (!canDiffer.has(t)) return { tensor: t, metrics: null, pass: true, identical: true };
          // Not certified (the run budget ran out): what an earlier probe measured, if any.
          const m = observed.get(t) ?? null;
          return { tensor: t, metrics: m, pass: m !== null && passes(m, criterion), identical: false };
        });
      return {
        culprit: { node: node.name, opType: node.opType, tensor: o.culprit, metrics: o.culpritResult },
        inputs,
        probes,
        monotone: o.monotone,
        certificate: o.certificate,
        candidates: candidates.length,
        runBudget: budget,
        uncertain: o.uncertain,
        observed,
        perturbation: perturbationOf(criterion.metric, pairs),
      };
    }
    throwIfCancelled(options.signal);
    const probe = step.probe;
    const measured = await prober.measure(probe.taps);
    for (const [t, m] of measured.taps) observed.set(t, m);
    const outAfter = measuredMetrics(measured.outputs, output);
    pairs.push({ output, withTaps: outAfter, withoutTaps: outputMetrics });
    const verdicts = probe.taps.map((t) => prober.verdict(t, measuredMetrics(measured.taps, t), criterion));
    const summary: ProbeSummary = { kind: probe.kind, taps: verdicts, output: metricValue(outAfter, criterion.metric) };
    probes.push(summary);
    options.onProbe?.(summary, criterion);
    const detail = verdicts.map((v) => `${displayName(v.tensor, 40)} ${v.pass ? 'pass' : 'FAIL'}`).join(', ');
    onProgress({
      type: 'progress',
      stage: `bisect ${probe.kind}`,
      done: probes.length,
      total: Math.max(probes.length, budget - 1),
      detail,
    });
    search.report(measured.taps);
  }
}
