import type { AdviceFacts, Observation } from './advisor-context.js';
import type { Finding } from './advisor-finding.js';
import { cosine, list, num, precisionFlag, q, tensorLabel, viaFix } from './advisor-text.js';
import { ADVISOR_THRESHOLDS as T } from './advisor-thresholds.js';
import { peakSummary } from './advisor-values.js';

/**
 * Outlier channel: a tensor whose worst channel fails while the tensor-wide cosine passes. The
 * usual cause is one channel (of the tensor or of the input its producer quantizes) so much
 * larger than the others that one per-tensor INT8 scale leaves them a handful of levels. With
 * per-channel peaks, the channel that owns the range is named, and a tensor whose channels are
 * all of a size (natural spread, ADVISOR_THRESHOLDS.outlierRangeRatio) is left alone; without
 * them, the worst channel must be far worse than the tensor (channelErrorRatio).
 */

/** The per-channel cosine a channel must reach: the report's threshold when it gates on a cosine. */
export function channelThreshold(facts: AdviceFacts): number {
  const { metric, threshold } = facts.criterion;
  return metric === 'cosine' || metric === 'worstChannelCosine' ? threshold : T.channelCosine;
}

export interface Owner {
  readonly tensor: string;
  readonly self: boolean;
  readonly channel: number;
  readonly peak: number;
  readonly median: number;
}

/**
 * The channel owning the range among the tensor (unless `inputsOnly`) and its producer's inputs:
 * the largest peak-to-median ratio, if any reaches outlierRangeRatio; null when the peaks were
 * measured and none does, undefined when the tensor's peaks are unknown.
 */
export function rangeOwner(tensor: string, facts: AdviceFacts, inputsOnly = false): Owner | null | undefined {
  const peaks = facts.channelPeaks;
  if (!peaks?.has(tensor)) return undefined;
  let best: Owner | null = null;
  let bestRatio = 0;
  for (const t of [...(inputsOnly ? [] : [tensor]), ...(facts.graph?.inputsOf(tensor) ?? [])]) {
    const p = peaks.get(t);
    if (!p || p.length < 2 || fewPerChannel(facts.graph?.shapeOf?.(t))) continue;
    const s = peakSummary(p);
    const ratio = s.median > 0 ? s.peak / s.median : s.peak > 0 ? Infinity : 0;
    if (ratio >= T.outlierRangeRatio && ratio > bestRatio) {
      best = { tensor: t, self: t === tensor, channel: s.channel, peak: s.peak, median: s.median };
      bestRatio = ratio;
    }
  }
  return best;
}

/** Whether a shape has fewer than channelMinElements values per channel (axis 1); false when unknown. */
function fewPerChannel(shape: readonly number[] | undefined): boolean {
  if (!shape || shape.length < 2) return false;
  let inner = 1;
  for (let k = 2; k < shape.length; k++) inner *= shape[k];
  return inner * shape[0] < T.channelMinElements;
}

export function ratioText(peak: number, median: number): string {
  return median > 0 ? `${num(peak / median)}x` : 'all others zero';
}

export function outlierChannelRule(observations: readonly Observation[], facts: AdviceFacts): Finding[] {
  const threshold = channelThreshold(facts);
  const findings: Finding[] = [];
  const byOwner = new Map<string, { finding: Finding; tensors: string[] }>();
  let ownerless: { finding: Finding; tensors: string[] } | null = null;
  for (const o of observations) {
    const m = o.metrics;
    if (m.worstChannelCosine === null || m.worstChannel === null || m.nonFiniteIntroduced > 0) continue;
    if (!(m.worstChannelCosine < threshold) || !(m.cosine >= threshold)) continue;
    if (fewPerChannel(o.shape ?? facts.graph?.shapeOf?.(o.tensor))) continue;
    const owner = rangeOwner(o.tensor, facts);
    if (owner === null) continue; // peaks measured: the channels are of a size, so per-tensor scaling is not the cause
    const head = `${tensorLabel(o)} has a tensor-wide cosine of ${cosine(m.cosine)}, but its channel ${m.worstChannel} reaches only ${cosine(m.worstChannelCosine)}: damage confined to some channels, which the tensor-wide cosine hides.`;
    if (owner === undefined) {
      const ratio = (1 - m.worstChannelCosine) / Math.max(1 - m.cosine, Number.MIN_VALUE);
      if (!(ratio >= T.channelErrorRatio)) continue;
      if (ownerless) {
        ownerless.tensors.push(o.tensor);
        continue;
      }
      const consumer = o.node && canTakeInt16(o.node, facts) ? [o.node] : [];
      ownerless = {
        tensors: [o.tensor],
        finding: {
          rule: 'outlier-channel',
          severity: 'warning',
          tensors: [],
          message: `${head} Its error (1 − cosine) is ${num(ratio)} times the tensor's, the mark of channels squeezed by one per-tensor scale; this run did not measure channel ranges, so quantscope compare names the channel that owns the range.`,
          suggestion: `Quantize the activations that feed it per channel, or run ${consumer.length ? `${q(consumer[0])} at INT16: ${precisionFlag(consumer[0], 'int16')}` : 'its producer at INT16'}${viaFix(facts, 'quantscope fix finds the same region')}.`,
        },
      };
      continue;
    }
    const known = byOwner.get(owner.tensor);
    if (known) {
      known.tensors.push(o.tensor);
      continue;
    }
    // Only nodes a promotion to INT16 applies to: a float op reading the tensor cannot take it.
    const consumers = (owner.self ? (facts.graph?.consumersOf(o.tensor) ?? []).map((c) => c.name) : o.node ? [o.node] : []).filter((c) =>
      canTakeInt16(c, facts),
    );
    const used = facts.calibration?.rangeOf(owner.tensor)?.used;
    const step = used ? (used.max - used.min) / 255 : (2 * owner.peak) / 255;
    const levels = step > 0 ? Math.max(0, Math.round(owner.median / step)) : 0;
    const where = owner.self ? 'Its own channel' : `Its input ${q(owner.tensor)} has channel`;
    const message = `${head} ${where} ${owner.channel} ${owner.self ? 'peaks' : 'peaking'} at ${num(owner.peak)} while the median channel peaks at ${num(owner.median)} (${ratioText(owner.peak, owner.median)}): one per-tensor INT8 scale sized for channel ${owner.channel} has a step of about ${num(step)}${used ? ` (calibrated range [${num(used.min)}, ${num(used.max)}])` : ''}, so a median channel keeps about ${levels} level(s).`;
    const consumerText =
      consumers.length > 0
        ? `its consumer${consumers.length > 1 ? 's' : ''} ${list(consumers.map(q), T.namedInMessage)} at INT16: ${consumers
            .slice(0, T.namedInMessage)
            .map((c) => precisionFlag(c, 'int16'))
            .join(' ')}`
        : 'the node that reads it at INT16';
    byOwner.set(owner.tensor, {
      tensors: [o.tensor, ...(owner.self ? [] : [owner.tensor])],
      finding: {
        rule: 'outlier-channel',
        severity: 'warning',
        tensors: [],
        message,
        suggestion: `Quantize ${q(owner.tensor)} per channel (a scale per channel), or run ${consumerText}${viaFix(facts, 'quantscope fix finds the same region')}.`,
      },
    });
  }
  for (const { finding, tensors } of byOwner.values()) findings.push({ ...finding, tensors: [...new Set(tensors)] });
  if (ownerless) findings.push({ ...ownerless.finding, tensors: ownerless.tensors });
  return findings;
}

/**
 * Whether `--precision NODE=int16` is a promotion the tool accepts for this node: a quantized op
 * at INT8 under the run's plan. Without plan facts (compare of dump directories), every node is
 * offered as before.
 */
function canTakeInt16(node: string, facts: AdviceFacts): boolean {
  const promote = facts.graph?.promotionOf;
  return promote === undefined || promote(node) === 'int16';
}
