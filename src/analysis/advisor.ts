import { fp16OverflowRule, calibrationMismatchRule, clippingRule } from './advisor-ranges.js';
import { outlierChannelRule } from './advisor-channels.js';
import type { AdviceFacts, Observation } from './advisor-context.js';
import { metricBlindSpotRule, sourceAmplifierRule, tapPerturbationRule } from './advisor-error.js';
import { ADVISOR_RULES, type Finding } from './advisor-finding.js';
import { referenceNonFiniteRule, referenceUnmeasured } from './advisor-reference.js';
import { inputsDifferRule, type InputComparison, type InputDigest } from './advisor-inputs.js';
import { cosine, metric, precisionFlag, q, tensorLabel } from './advisor-text.js';
import type { Certificate } from './bisect.js';
import type { ComparisonReport, TapPerturbation } from './comparison.js';
import { metricValue, type MetricName, type Metrics } from './metrics.js';
import { parseGoal } from './gate.js';

export type { AdviceFacts, AdviceGraph, CalibrationFacts, Observation, ValueStats } from './advisor-context.js';
export { ADVISOR_RULES, type AdvisorRule, type Finding, type Severity } from './advisor-finding.js';
export { explainInputDifference, type InputComparison, type InputDigest, type InputTransform } from './advisor-inputs.js';
export { ADVISOR_THRESHOLDS } from './advisor-thresholds.js';
export { channelPeaks, valueStats } from './advisor-values.js';

/**
 * The advisor (pure functions, no I/O): reads a compare, bisect or fix result and says in plain
 * words what went wrong and what to do, as findings naming the run's tensors and numbers. The
 * rules and their thresholds (advisor-thresholds.ts):
 *
 * 1. inputs-differ: the graph inputs of two dump directories differ (named transform, no layer blamed);
 * 2. reference-non-finite: the float reference itself holds NaN/Inf (an input does), where it starts;
 * 3. fp16-overflow: Inf in an fp16 tensor where the reference is finite, or a reference past 65504;
 * 4. calibration-mismatch: many tensors reach far beyond their calibrated ranges;
 * 5. clipping: a quantized tensor with a high clip ratio;
 * 6. outlier-channel: the worst channel fails while the tensor passes, and who owns the range;
 * 7. source-amplifier: where the error starts and where it grows (tensors the reference leaves
 *    unmeasured are left out);
 * 8. tap-perturbation: the taps moved the outputs' metric materially;
 * 9. metric-blind-spot: cosine passes while PSNR is poor on an offset (image-like) output.
 *
 * When the inputs differ, the layer rules stay quiet: every layer inherits the difference.
 */

/** Findings in the order of ADVISOR_RULES (stable within a rule). */
function ordered(findings: readonly Finding[]): Finding[] {
  const rank = (f: Finding) => ADVISOR_RULES.indexOf(f.rule);
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .map((x) => x.f);
}

export interface CompareAdvice extends Omit<AdviceFacts, 'criterion'> {
  /** Graph inputs compared on both sides (dump directories). */
  readonly inputs?: readonly InputComparison[];
  /** Graph inputs known only by their manifests' sha256. */
  readonly inputDigests?: readonly InputDigest[];
}

/** The findings of a comparison (model runs or dump directories). */
export function adviseCompare(report: ComparisonReport, advice: CompareAdvice = {}): Finding[] {
  const inputs = inputsDifferRule(advice.inputs ?? [], advice.inputDigests ?? []);
  if (inputs) return [inputs];
  const facts: AdviceFacts = { ...advice, use: 'compare', criterion: { metric: report.metric, threshold: report.threshold } };
  const outputs = new Set(report.outputs);
  const observations: Observation[] = report.rows.flatMap((r) =>
    r.metrics
      ? [
          {
            tensor: r.tensor,
            node: r.node,
            opType: r.opType,
            index: r.index,
            shape: r.shape,
            metrics: r.metrics,
            own: r.own,
            verdict: r.verdict,
            output: outputs.has(r.tensor),
          },
        ]
      : [],
  );
  const mismatch = calibrationMismatchRule(observations, facts);
  const overflow = fp16OverflowRule(observations, facts);
  const reference = referenceNonFiniteRule(observations);
  const unmeasured = observations.filter(referenceUnmeasured).map((o) => o.tensor);
  const perturbation =
    report.perturbation && !(Number.isNaN(report.perturbation.withTaps) && Number.isNaN(report.perturbation.withoutTaps))
      ? report.perturbation
      : null;
  return ordered([
    ...reference,
    ...overflow,
    ...mismatch.findings,
    ...clippingRule(observations, facts, mismatch.covered),
    ...outlierChannelRule(observations, facts),
    // Sources an overflow or the calibration mismatch explains are left to those findings.
    ...sourceAmplifierRule(
      observations,
      facts,
      report.worstSource,
      new Set([...overflow.flatMap((f) => f.tensors), ...mismatch.covered, ...unmeasured]),
    ),
    ...tapPerturbationRule(perturbation, facts, 'compare'),
    ...metricBlindSpotRule(observations, facts),
  ]);
}

interface MeasuredTensor {
  readonly tensor: string;
  readonly metrics: Metrics;
  readonly pass: boolean;
}

/** What the advisor reads of a bisect report (app/bisect/bisect.ts BisectReport). */
export interface BisectFacts {
  readonly metric: MetricName;
  readonly threshold: number;
  readonly outputs: readonly MeasuredTensor[];
  readonly culprit: {
    readonly node: string;
    readonly opType: string;
    readonly tensor: string;
    readonly metrics: Metrics;
    readonly precision: string;
  } | null;
  readonly inputs: readonly {
    readonly tensor: string;
    readonly metrics: Metrics | null;
    readonly pass: boolean;
    readonly identical: boolean;
  }[];
  readonly certificate: Certificate | null;
  /** With certificate `budget`: unmeasured tensors before the culprit that might hold the first failure. */
  readonly uncertain?: readonly string[];
  readonly monotone?: boolean;
  readonly perturbation: TapPerturbation | null;
}

function outputObservations(
  outputs: readonly MeasuredTensor[],
  producers?: ReadonlyMap<string, { node: string; opType: string }>,
): Observation[] {
  return outputs.map((o) => ({
    tensor: o.tensor,
    node: producers?.get(o.tensor)?.node ?? '',
    opType: producers?.get(o.tensor)?.opType ?? '',
    index: -1,
    metrics: o.metrics,
    output: true,
  }));
}

/**
 * Where the error of a bisect culprit comes from: a quantized culprit whose inputs pass is the
 * source; an fp32 float op whose inputs pass computes exactly and amplifies their small error.
 */
function culpritRule(r: BisectFacts): Finding[] {
  const c = r.culprit;
  if (!c || r.certificate === 'culprit-passed') return [];
  if (r.certificate === 'budget') {
    const uncertain = r.uncertain ?? [];
    const label = tensorLabel({ tensor: c.tensor, node: c.node, opType: c.opType });
    return [
      {
        rule: 'source-amplifier',
        severity: 'warning',
        tensors: [c.tensor, ...uncertain],
        message: `Bisect spent its run budget before certifying ${label}: it fails at ${r.metric} ${metric(r.metric, metricValue(c.metrics, r.metric))}${r.monotone === false ? ', but the error is not monotone along the graph' : ''}${uncertain.length > 0 ? ` and ${uncertain.length} earlier tensor(s) were never measured, so the first failure may lie earlier` : ', and its inputs were not measured in the same run'}.`,
        suggestion: `Measure every tensor at once: quantscope compare with --taps @all and the same --metric and --threshold shows where the error first appears.`,
      },
    ];
  }
  const tested = r.inputs.filter((i) => i.metrics !== null);
  const inputsText =
    tested.length > 0
      ? `its input${tested.length > 1 ? 's' : ''} ${tested.map((i) => `${q(i.tensor)} (${r.metric} ${metric(r.metric, metricValue(i.metrics as Metrics, r.metric))})`).join(', ')} pass${tested.length > 1 ? '' : 'es'}`
      : 'none of its inputs can differ from the reference';
  const value = `${r.metric} ${metric(r.metric, metricValue(c.metrics, r.metric))}`;
  const label = tensorLabel({ tensor: c.tensor, node: c.node, opType: c.opType });
  if (c.precision === 'fp32' && tested.length > 0) {
    return [
      {
        rule: 'source-amplifier',
        severity: 'warning',
        tensors: [c.tensor, ...tested.map((i) => i.tensor)],
        message: `${label} runs in fp32 and computes exactly, yet fails at ${value} while ${inputsText}: it amplifies a small error of its inputs (an InstanceNormalization dividing by a small variance, a large gain) rather than making one.`,
        suggestion: `Reduce the error it receives: promote the producers of ${tested.map((i) => q(i.tensor)).join(', ')} to INT16 (quantscope fix does this when the culprit is an fp32 op).`,
      },
    ];
  }
  return [
    {
      rule: 'source-amplifier',
      severity: 'warning',
      tensors: [c.tensor],
      message: `The error starts at ${label}, run at ${c.precision}: it fails at ${value} while ${inputsText}.`,
      suggestion:
        c.precision === 'int8'
          ? `Promote it: ${precisionFlag(c.node, 'int16')} (or quantscope fix).`
          : c.precision === 'fp16'
            ? `Run it in FP32: ${precisionFlag(c.node, 'fp32')}.`
            : `Promote its region with quantscope fix.`,
    },
  ];
}

/** The findings of a bisect: the culprit's cause, the outputs' blind spot, the probes' perturbation. */
export function adviseBisect(report: BisectFacts, extra: Omit<AdviceFacts, 'criterion'> = {}): Finding[] {
  const facts: AdviceFacts = { ...extra, use: 'bisect', criterion: { metric: report.metric, threshold: report.threshold } };
  const c = report.culprit;
  const culprit: Observation[] = c
    ? [
        {
          tensor: c.tensor,
          node: c.node,
          opType: c.opType,
          index: -1,
          metrics: c.metrics,
          output: report.outputs.some((o) => o.tensor === c.tensor),
          precision: c.precision,
        },
      ]
    : [];
  // The culprit's measured inputs: an outlier channel crushed at an input shows there, and a reduction's input gives its size.
  const inputs: Observation[] = c
    ? report.inputs.flatMap((i) => {
        if (!i.metrics) return [];
        const producer = facts.graph?.producerOf?.(i.tensor);
        return [
          { tensor: i.tensor, node: producer?.name ?? '', opType: producer?.opType ?? '', index: -1, metrics: i.metrics, output: false },
        ];
      })
    : [];
  const findings: Finding[] = [
    ...fp16OverflowRule([...inputs, ...culprit], facts),
    ...outlierChannelRule([...inputs, ...culprit], facts),
    ...culpritRule(report),
    ...tapPerturbationRule(report.perturbation, facts, 'bisect'),
    ...metricBlindSpotRule(outputObservations(report.outputs), facts),
  ];
  if (c && report.certificate === 'culprit-passed' && !findings.some((f) => f.rule === 'tap-perturbation')) {
    findings.push({
      rule: 'tap-perturbation',
      severity: 'warning',
      tensors: [c.tensor],
      message: `${tensorLabel({ tensor: c.tensor, node: c.node, opType: c.opType })} fails at ${report.metric} ${metric(report.metric, metricValue(c.metrics, report.metric))} when tapped alone but passes once its inputs are tapped too: the taps split its fused group and changed the numerics.`,
      suggestion:
        'Treat the culprit as a lead, not a verdict: compare with fewer taps, or let quantscope fix verify the outputs without taps.',
    });
  }
  // An fp16 culprit that overflows is its own cause: the source sentence would repeat it.
  const overflow = findings.some((f) => f.rule === 'fp16-overflow');
  return ordered(overflow ? findings.filter((f) => f.rule !== 'source-amplifier') : findings);
}

/** What the advisor reads of a fix report (app/fix.ts FixReport). */
export interface FixFacts {
  readonly target: string;
  readonly outputs: readonly MeasuredTensor[];
  readonly rounds: readonly {
    readonly culprit: { readonly node: string; readonly opType: string; readonly tensor: string; readonly metrics: Metrics };
    readonly region: {
      readonly reason: string;
      readonly changes: readonly { readonly node: string; readonly from: string; readonly to: string }[];
    } | null;
  }[];
}

/**
 * The findings of a fix: why the located culprits failed (fp16 overflow, an outlier channel, an
 * fp32 amplifier fixed upstream) and whether the target's metric is blind on the final outputs.
 */
export function adviseFix(report: FixFacts, extra: Omit<AdviceFacts, 'criterion'> = {}): Finding[] {
  const target = parseGoal(report.target).targets[0];
  const facts: AdviceFacts = { ...extra, use: 'fix', criterion: { metric: target.metric, threshold: target.value } };
  const seen = new Set<string>();
  const culprits: Observation[] = [];
  const amplified: Finding[] = [];
  for (const round of report.rounds) {
    const c = round.culprit;
    if (seen.has(c.tensor)) continue;
    seen.add(c.tensor);
    const own = round.region?.changes.find((x) => x.node === c.node);
    culprits.push({
      tensor: c.tensor,
      node: c.node,
      opType: c.opType,
      index: -1,
      metrics: c.metrics,
      output: false,
      ...(own ? { precision: own.from } : {}),
    });
    if (round.region?.reason === 'producers') {
      const promoted = round.region.changes.map((x) => q(x.node));
      amplified.push({
        rule: 'source-amplifier',
        severity: 'info',
        tensors: [c.tensor],
        message: `${tensorLabel(c)} failed at cosine ${cosine(c.metrics.cosine)} although nothing in its own kernel can be promoted: it amplifies the error of the kernels that feed it.`,
        suggestion: `Fix promoted the producers instead (${promoted.join(', ')}); keep them above INT8 in any hand-written plan.`,
      });
    }
  }
  return ordered([
    ...fp16OverflowRule(culprits, facts),
    ...outlierChannelRule(culprits, facts),
    ...amplified,
    ...metricBlindSpotRule(outputObservations(report.outputs), facts, 'target'),
  ]);
}
