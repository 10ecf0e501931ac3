import { errorPower } from './attribution.js';
import type { AdviceFacts, Observation } from './advisor-context.js';
import { rangeOwner, ratioText } from './advisor-channels.js';
import type { Finding } from './advisor-finding.js';
import { cosine, db, list, metric, num, precisionFlag, q, tensorLabel, viaFix } from './advisor-text.js';
import { ADVISOR_THRESHOLDS as T } from './advisor-thresholds.js';
import type { TapPerturbation } from './comparison.js';
import { metricValue, valueMeets, type MetricName, type Metrics } from './metrics.js';

/**
 * The error rules: where the error starts and where it grows (source vs amplifier), whether the
 * taps themselves moved the outputs, and outputs whose cosine passes while PSNR says the image is
 * visibly off (the cosine blind spot of DESIGN.md §5).
 */

/**
 * How much worse `b` is than `a` in dB of error power: cosines by 1 − cosine (for small errors
 * 1 − cosine is half the noise-to-signal ratio), SNR/PSNR by their difference, mse by its ratio,
 * the amplitude errors by 20·log10 of theirs. 0 when equal; ±Inf when one side has no error.
 */
export function errorChangeDb(name: MetricName, a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  if (name === 'snrDb' || name === 'psnrDb') return a - b;
  const [ea, eb] = name === 'cosine' || name === 'worstChannelCosine' ? [1 - a, 1 - b] : [a, b];
  // 1 − cosine and mse are powers already; the other errors are amplitudes.
  const factor = name === 'mse' || name === 'cosine' || name === 'worstChannelCosine' ? 10 : 20;
  if (ea <= 0 && eb <= 0) return 0;
  if (ea <= 0) return Infinity;
  if (eb <= 0) return -Infinity;
  return factor * Math.log10(eb / ea);
}

function errorText(m: Metrics, name: MetricName): string {
  if (m.nonFiniteIntroduced > 0) return `${m.nonFiniteIntroduced} Inf/NaN value(s) where the reference is finite`;
  const main = `${name === 'cosine' ? 'cosine ' : `${name} `}${metric(name, metricValue(m, name))}`;
  return name === 'snrDb' ? main : `${main} (SNR ${db(m.snrDb)})`;
}

/**
 * Source vs amplifier: the worst source (its own error fails by itself: the error starts there)
 * and the amplifiers (own error fine, accumulated error far worse than their inputs'), each with
 * own and accumulated error, and what an amplifier received.
 */
export function sourceAmplifierRule(
  observations: readonly Observation[],
  facts: AdviceFacts,
  worstSource: string | null,
  explained: ReadonlySet<string> = new Set(),
): Finding[] {
  const name = facts.criterion.metric;
  // Sources another rule explains already (an fp16 overflow) are left to it.
  const sources = observations.filter((o) => o.verdict === 'source' && o.own && !explained.has(o.tensor));
  const amplifiers = observations.filter((o) => o.verdict === 'amplifier' && o.own && !explained.has(o.tensor));
  if (sources.length === 0 && amplifiers.length === 0) return [];
  const byName = new Map(observations.map((o) => [o.tensor, o]));
  // A source whose own output holds Inf/NaN first (its cosine over the finite rest says nothing), else the report's worst source.
  const worst =
    sources.find((o) => (o.own as Metrics).nonFiniteIntroduced > 0) ??
    sources.find((o) => o.tensor === worstSource) ??
    sources.reduce<Observation | undefined>(
      (w, o) => (!w || errorPower(o.own as Metrics) > errorPower(w.own as Metrics) ? o : w),
      undefined,
    );
  const sentences: string[] = [];
  const suggestions: string[] = [];
  if (worst) {
    sentences.push(
      `The error starts at ${tensorLabel(worst)}: its own error is ${errorText(worst.own as Metrics, name)} with float inputs, accumulated ${errorText(worst.metrics, name)}.`,
    );
    const owner = rangeOwner(worst.tensor, facts, true);
    if (owner) {
      sentences.push(
        `Its input ${q(owner.tensor)} has channel ${owner.channel} peaking at ${num(owner.peak)} while the median channel peaks at ${num(owner.median)} (${ratioText(owner.peak, owner.median)}): the one per-tensor scale it is quantized with leaves the other channels almost no levels.`,
      );
    }
    if (sources.length > 1)
      sentences.push(
        `${sources.length - 1} other source(s): ${list(
          sources.filter((o) => o !== worst).map((o) => q(o.tensor)),
          T.namedInMessage,
        )}.`,
      );
    const guessed = worst.metrics.fp16Overflow !== null || worst.precision === 'fp16' ? 'fp32' : 'int16';
    // The run's plan says what a promotion of the node is; null: nothing left to promote there.
    const to = worst.node && facts.graph?.promotionOf ? facts.graph.promotionOf(worst.node) : guessed;
    suggestions.push(
      worst.node && to
        ? `Promote the source: ${precisionFlag(worst.node, to)}${viaFix(facts, 'or let quantscope fix choose the region')}.`
        : worst.node
          ? `Nothing in ${q(worst.node)} itself can be promoted: promote the kernels that feed it${viaFix(facts, 'quantscope fix finds them')}.`
          : `Promote the node that produces the source to ${guessed.toUpperCase()}.`,
    );
  }
  const fixUpstream: string[] = [];
  for (const a of amplifiers.slice(0, T.namedInMessage)) {
    const inputs = (facts.graph?.inputsOf(a.tensor) ?? []).map((t) => byName.get(t)).filter((x): x is Observation => x !== undefined);
    const worstInput = inputs.reduce<Observation | null>(
      (w, x) => (w === null || errorPower(x.metrics) > errorPower(w.metrics) ? x : w),
      null,
    );
    const gain = worstInput
      ? 10 * Math.log10(errorPower(a.metrics) / Math.max(errorPower(worstInput.metrics), errorPower(a.own as Metrics), Number.MIN_VALUE))
      : Number.NaN;
    const received = worstInput
      ? ` from ${errorText(worstInput.metrics, name)} at its input ${q(worstInput.tensor)}${Number.isFinite(gain) ? `: the error power grows by ${num(gain)} dB here` : ''}`
      : '';
    sentences.push(
      `${tensorLabel(a)} amplifies the error it receives: its own error is ${errorText(a.own as Metrics, name)}, accumulated ${errorText(a.metrics, name)}${received}.`,
    );
    if (worstInput) fixUpstream.push(worstInput.node ? `${q(worstInput.tensor)} (node ${q(worstInput.node)})` : q(worstInput.tensor));
  }
  if (amplifiers.length > T.namedInMessage) sentences.push(`${amplifiers.length - T.namedInMessage} more amplifier(s).`);
  if (amplifiers.length > 0) {
    suggestions.push(
      `An amplifier computes its own part correctly (an InstanceNormalization dividing by a small variance, a large gain), so promoting it helps little: reduce the error it receives${fixUpstream.length > 0 ? `, in ${list(fixUpstream)}` : ''}.`,
    );
  }
  return [
    {
      rule: 'source-amplifier',
      severity: 'warning',
      tensors: [
        ...(worst ? [worst.tensor] : []),
        ...amplifiers.map((o) => o.tensor),
        ...sources.filter((o) => o !== worst).map((o) => o.tensor),
      ],
      message: sentences.join(' '),
      suggestion: suggestions.join(' '),
    },
  ];
}

/** Tap perturbation: the outputs' metric with the taps versus without moved by perturbationDb or flipped its verdict. */
export function tapPerturbationRule(p: TapPerturbation | null | undefined, facts: AdviceFacts, what: 'compare' | 'bisect'): Finding[] {
  if (!p) return [];
  const { threshold } = facts.criterion;
  const change = errorChangeDb(p.metric, p.withoutTaps, p.withTaps);
  const flipped = valueMeets(p.metric, p.withTaps, threshold) !== valueMeets(p.metric, p.withoutTaps, threshold);
  if (!(Math.abs(change) >= T.perturbationDb) && !flipped && !Number.isNaN(change)) return [];
  const verdict = flipped
    ? `, which ${valueMeets(p.metric, p.withoutTaps, threshold) ? 'passes' : 'fails'} without the taps and ${valueMeets(p.metric, p.withTaps, threshold) ? 'passes' : 'fails'} with them`
    : '';
  const moved = Number.isFinite(change)
    ? `the error power ${change > 0 ? 'grew' : 'shrank'} by ${num(Math.abs(change))} dB`
    : 'the error changed without bound';
  const taps = what === 'bisect' ? 'the probe taps' : "the run's taps";
  return [
    {
      rule: 'tap-perturbation',
      severity: 'warning',
      tensors: [p.output],
      message: `The taps changed what is measured: ${q(p.output)} has ${p.metric} ${metric(p.metric, p.withTaps)} with ${taps} and ${metric(p.metric, p.withoutTaps)} without (${moved})${verdict}. Every tap splits a fused group and stores the tensor at boundary precision.`,
      suggestion:
        what === 'bisect'
          ? 'Treat the culprit as a lead, not a verdict: check it with quantscope compare --taps on the culprit and its inputs, or let quantscope fix verify the outputs without taps.'
          : 'Tap fewer tensors (--taps with the suspects only), or use quantscope bisect, which taps one tensor per run.',
    },
  ];
}

/** Whether a tensor is offset-dominated: |mean| >= std when the stats are known, else mostly one-signed. */
function offsetOf(o: Observation, facts: AdviceFacts): { dominated: boolean; text: string } {
  const stats = facts.outputStats?.get(o.tensor);
  const m = o.metrics;
  if (stats && Number.isFinite(stats.mean) && Number.isFinite(stats.std)) {
    const energy = stats.mean * stats.mean + stats.std * stats.std;
    const share = energy > 0 ? (stats.mean * stats.mean) / energy : 0;
    const centred = stats.std > 0 && m.mse > 0 ? 10 * Math.log10((stats.std * stats.std) / m.mse) : Number.NaN;
    return {
      dominated: Math.abs(stats.mean) >= T.offsetToSpread * stats.std,
      text: `its values have mean ${num(stats.mean)} and standard deviation ${num(stats.std)}, so the common offset holds ${num(100 * share)}% of its energy${Number.isFinite(centred) ? ` (SNR without the offset: ${db(centred)})` : ''}`,
    };
  }
  const lo = Math.abs(m.refRange.min);
  const hi = Math.abs(m.refRange.max);
  const small = Math.min(lo, hi);
  const large = Math.max(lo, hi);
  const oneSided = m.refRange.min >= 0 || m.refRange.max <= 0 || small <= T.oneSidedShare * large;
  return {
    dominated: large > 0 && oneSided,
    text: `its values span ${num(m.refRange.min)}..${num(m.refRange.max)}, nearly all on one side of zero`,
  };
}

/** An image batch: rank 4 with 1 or 3 channels on axis 1 (NCHW) or on the last axis (NHWC). */
function isImageLike(shape: readonly number[] | undefined): boolean {
  if (!shape || shape.length !== 4) return false;
  return shape[1] === 1 || shape[1] === 3 || shape[3] === 1 || shape[3] === 3;
}

/**
 * Metric blind spot: an image-like output (rank 4, 1 or 3 channels) that passes a cosine
 * criterion while its PSNR is below blindSpotPsnrDb and its values ride on a large common offset
 * (an image in 0..255). Outputs of unknown shape are left alone.
 */
export function metricBlindSpotRule(
  observations: readonly Observation[],
  facts: AdviceFacts,
  gate: 'threshold' | 'target' = 'threshold',
): Finding[] {
  const { metric: gated, threshold } = facts.criterion;
  if (gated !== 'cosine' && gated !== 'worstChannelCosine') return [];
  const findings: Finding[] = [];
  for (const o of observations) {
    const m = o.metrics;
    if (!o.output || m.nonFiniteIntroduced > 0 || !valueMeets(gated, metricValue(m, gated), threshold)) continue;
    if (!(m.psnrDb < T.blindSpotPsnrDb) || !isImageLike(o.shape ?? facts.graph?.shapeOf?.(o.tensor))) continue;
    const offset = offsetOf(o, facts);
    if (!offset.dominated) continue;
    const peak = Math.max(Math.abs(m.refRange.min), Math.abs(m.refRange.max));
    findings.push({
      rule: 'metric-blind-spot',
      severity: 'warning',
      tensors: [o.tensor],
      message: `${q(o.tensor)} passes ${gated} >= ${threshold} with cosine ${cosine(m.cosine)}, but its PSNR is ${db(m.psnrDb)} (SNR ${db(m.snrDb)}; RMS error ${num(m.rmse)} on a peak of ${num(peak)}): an image below ${T.blindSpotPsnrDb} dB is visibly off. Cosine compares directions, and ${offset.text}: an error riding on a large common offset barely turns the vector.`,
      suggestion: `Trust PSNR (or SNR) for this output, not cosine: gate it with ${gate === 'target' ? `--target psnrDb>=${T.blindSpotPsnrDb}` : `--metric psnrDb --threshold ${T.blindSpotPsnrDb}`}${gate === 'threshold' ? ` (or quantscope fix --target psnrDb>=${T.blindSpotPsnrDb})` : ''}; ${T.blindSpotPsnrDb} dB is where 8-bit images become visually lossless.`,
    });
  }
  return findings;
}
