import type { AdviceFacts, CalibrationFacts, Observation } from './advisor-context.js';
import type { Finding } from './advisor-finding.js';
import { list, num, percent, precisionFlag, q, range, tensorLabel, viaFix } from './advisor-text.js';
import { ADVISOR_THRESHOLDS as T } from './advisor-thresholds.js';
import type { ValueRange } from './metrics.js';

/**
 * The range rules: fp16 overflow (values past 65504 where the plan stores fp16), clipping (a
 * quantized tensor's values outside its calibrated range) and calibration mismatch (the
 * evaluation inputs drive many tensors far past what calibration saw).
 */

/** Reductions whose fp16 accumulation the quant backend emulates (DESIGN.md §4). */
const REDUCTIONS = new Set(['ReduceMean', 'ReduceSum', 'GlobalAveragePool']);

function isFp16(o: Observation): boolean {
  return o.metrics.fp16Overflow !== null || o.precision === 'fp16';
}

function peakOf(r: ValueRange): number {
  return Math.max(Math.abs(r.min), Math.abs(r.max));
}

function beyondFp16(r: ValueRange): boolean {
  return peakOf(r) > T.fp16Max;
}

function overflowing(m: Observation['metrics'] | null | undefined): boolean {
  return !!m && (m.nonFiniteIntroduced > 0 || (m.fp16Overflow ?? 0) > 0 || (m.infTest > 0 && m.infRef === 0));
}

/**
 * FP16 overflow: a tensor stored in fp16 holding Inf/NaN where the reference is finite, or whose
 * reference exceeds 65504. The origins are the tensors whose own error overflows (or whose
 * reference exceeds the range); without own error, those whose inputs do not overflow, else the
 * earliest. The rest are counted as carried along.
 */
export function fp16OverflowRule(observations: readonly Observation[], facts: AdviceFacts): Finding[] {
  const hit = observations.filter((o) => isFp16(o) && overflowing(o.metrics));
  if (hit.length === 0) return [];
  const hitNames = new Set(hit.map((o) => o.tensor));
  // fp16Overflow also counts Inf carried in from upstream; a reference past 65504 is the tensor's own.
  let origins = hit.filter((o) => beyondFp16(o.metrics.refRange) || overflowing(o.own));
  if (origins.length === 0 && facts.graph)
    origins = hit.filter((o) => !(facts.graph?.inputsOf(o.tensor) ?? []).some((t) => hitNames.has(t)));
  if (origins.length === 0) origins = [hit.reduce((a, b) => (b.index >= 0 && (a.index < 0 || b.index < a.index) ? b : a))];
  const byName = new Map(observations.map((o) => [o.tensor, o]));
  const sentences = origins.slice(0, T.namedInMessage).map((o) => {
    const m = o.metrics;
    const parts: string[] = [];
    if (m.nonFiniteIntroduced > 0)
      parts.push(
        `holds ${m.nonFiniteIntroduced} Inf/NaN value(s) where the float reference is finite (reference range ${range(m.refRange)})`,
      );
    if (beyondFp16(m.refRange)) {
      parts.push(
        m.nonFiniteIntroduced === 0 && (m.fp16Overflow ?? 0) > 0
          ? `has ${m.fp16Overflow} reference value(s) beyond fp16's largest ${T.fp16Max} (reference range ${range(m.refRange)})`
          : `its reference reaches past fp16's largest ${T.fp16Max}`,
      );
    }
    let why = '';
    if (REDUCTIONS.has(o.opType) && peakOf(m.refRange) <= T.fp16Max) {
      const input = (facts.graph?.inputsOf(o.tensor) ?? []).map((t) => byName.get(t)).find((x) => x !== undefined);
      const reduced = input && m.count > 0 ? input.metrics.count / m.count : 0;
      why =
        reduced >= 2
          ? `: the result is small, but the running sum of ${num(reduced)} elements of about ${num(peakOf(m.refRange))} reaches about ${num(reduced * peakOf(m.refRange))}, past ${T.fp16Max}`
          : ': the result is small, so the overflow is in the fp16 running sum';
    }
    return `${tensorLabel(o)}, run in fp16, ${parts.join(' and ')}${why}.`;
  });
  const carried = hit.length - origins.length;
  const nodes = [...new Set(origins.map((o) => o.node).filter((n) => n !== ''))];
  const message = `${sentences.join(' ')}${origins.length > T.namedInMessage ? ` ${origins.length - T.namedInMessage} more tensor(s) overflow the same way.` : ''}${carried > 0 ? ` ${carried} later tensor(s) carry the Inf along.` : ''}`;
  const suggestion =
    nodes.length > 0
      ? `Run ${list(nodes.map(q), T.namedInMessage)} in FP32: ${nodes
          .slice(0, T.namedInMessage)
          .map((n) => precisionFlag(n, 'fp32'))
          .join(' ')}${viaFix(facts, 'quantscope fix promotes them the same way')}.`
      : 'Run the nodes producing these tensors in FP32 (--precision NODE=fp32).';
  return [
    {
      rule: 'fp16-overflow',
      severity: 'error',
      tensors: [...origins, ...hit.filter((o) => !origins.includes(o))].map((o) => o.tensor),
      message,
      suggestion,
    },
  ];
}

/** How far the evaluation range overshoots the calibrated interval, in widths of that interval. */
export function rangeExcess(evaluated: ValueRange, calibrated: ValueRange): number {
  if (!Number.isFinite(evaluated.min) || !Number.isFinite(evaluated.max)) return 0;
  const over = Math.max(0, evaluated.max - calibrated.max, calibrated.min - evaluated.min);
  const width = calibrated.max - calibrated.min;
  if (over === 0) return 0;
  return width > 0 ? over / width : Infinity;
}

function calibrationText(c: CalibrationFacts): string {
  const method = c.method === 'percentile' && c.percentile !== null ? `percentile ${c.percentile}` : c.method;
  const names = c.sources.map((s) => q(s.split(/[\\/]/).pop() ?? s));
  return `${method} calibration on ${c.samples} input(s)${names.length > 0 ? ` (${list(names, T.namedInMessage)})` : ''}`;
}

/**
 * Calibration mismatch: at least ADVISOR_THRESHOLDS.mismatchShare of the calibrated tensors
 * reach beyond their calibrated interval by its own width or more. Returns the finding and the
 * tensors it covers (the clipping rule leaves them out).
 */
export function calibrationMismatchRule(
  observations: readonly Observation[],
  facts: AdviceFacts,
): { findings: Finding[]; covered: Set<string> } {
  const c = facts.calibration;
  const covered = new Set<string>();
  if (!c) return { findings: [], covered };
  const calibrated = observations.flatMap((o) => {
    const r = c.rangeOf(o.tensor);
    return r ? [{ o, observed: r.observed, excess: rangeExcess(o.metrics.refRange, r.observed) }] : [];
  });
  const far = calibrated.filter((x) => x.excess >= T.rangeExcess).sort((a, b) => b.excess - a.excess);
  if (far.length === 0 || far.length < T.mismatchShare * calibrated.length) return { findings: [], covered };
  for (const x of far) covered.add(x.o.tensor);
  const examples = far
    .slice(0, T.namedInMessage)
    .map((x) => `${q(x.o.tensor)} spans ${range(x.o.metrics.refRange)} against ${range(x.observed)} in calibration`);
  return {
    covered,
    findings: [
      {
        rule: 'calibration-mismatch',
        severity: 'warning',
        tensors: far.map((x) => x.o.tensor),
        message: `On these inputs ${far.length} of ${calibrated.length} calibrated tensors (${percent(far.length / calibrated.length)}) reach far beyond the ranges seen in calibration: ${list(examples)}. The ranges come from ${calibrationText(c)}, which do not look like the evaluation inputs.`,
        suggestion:
          'Calibrate on inputs like the evaluation inputs (the same preprocessing and the same kind of content): pass them with --calib, or calibrate again with quantscope calibrate, then compare again.',
      },
    ],
  };
}

/**
 * Clipping: quantized tensors (those with a clip ratio) whose reference falls outside the
 * calibrated range in at least ADVISOR_THRESHOLDS.clipRatio of the elements (and at least
 * clipMinElements of them), worst first.
 */
export function clippingRule(observations: readonly Observation[], facts: AdviceFacts, skip: ReadonlySet<string>): Finding[] {
  const hits = observations
    .filter((o) => !skip.has(o.tensor) && o.metrics.clipRatio !== null)
    .map((o) => ({ o, ratio: o.metrics.clipRatio as number, clipped: Math.round((o.metrics.clipRatio as number) * o.metrics.count) }))
    .filter((x) => x.ratio >= T.clipRatio && x.clipped >= T.clipMinElements)
    .sort((a, b) => b.ratio - a.ratio);
  if (hits.length === 0) return [];
  const c = facts.calibration;
  const sentences = hits.slice(0, T.namedInMessage).map(({ o, ratio, clipped }) => {
    const used = c?.rangeOf(o.tensor)?.used;
    const own = o.own ?? null;
    const hurt = own && own.cosine < 1 ? `; its own error alone is cosine ${own.cosine.toFixed(6)}` : '';
    return `${tensorLabel(o)} has ${percent(ratio)} of its values (${clipped} of ${o.metrics.count}) outside its calibrated range${used ? ` ${range(used)}` : ''}, while the reference spans ${range(o.metrics.refRange)}${hurt}.`;
  });
  const method = c ? ` (now ${calibrationText(c)})` : '';
  const loose =
    c?.method === 'minmax'
      ? 'more calibration inputs that cover these values'
      : 'a method that keeps the tails (--method minmax, or --method percentile --percentile 99.999), or more calibration inputs';
  return [
    {
      rule: 'clipping',
      severity: 'warning',
      tensors: hits.map((x) => x.o.tensor),
      message: `${sentences.join(' ')}${hits.length > T.namedInMessage ? ` ${hits.length - T.namedInMessage} more quantized tensor(s) clip as much.` : ''} Values beyond the range are saturated to its ends.`,
      suggestion: `Calibrate with ${loose}${method}.`,
    },
  ];
}
