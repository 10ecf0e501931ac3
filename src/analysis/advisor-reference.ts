import type { Observation } from './advisor-context.js';
import type { Finding } from './advisor-finding.js';
import { list, q, tensorLabel } from './advisor-text.js';
import { ADVISOR_THRESHOLDS as T } from './advisor-thresholds.js';

/**
 * Reference non-finite: the float reference itself holds NaN or ±Inf (typically a NaN or Inf in
 * an input). Those elements are left out of every metric, so a tensor with no finite value is
 * unmeasured (its metrics are NaN) and the rest are compared on their finite values only; the
 * error lies before the model, not in a layer. Names the earliest tensor holding them.
 */
export function referenceNonFiniteRule(observations: readonly Observation[]): Finding[] {
  const hit = observations.filter((o) => o.metrics.nanRef + o.metrics.infRef > 0);
  if (hit.length === 0) return [];
  const first = hit.reduce((a, b) => (b.index >= 0 && (a.index < 0 || b.index < a.index) ? b : a));
  const m = first.metrics;
  const unmeasured = observations.filter((o) => o.metrics.count > 0 && o.metrics.compared === 0);
  const counts = [m.nanRef > 0 ? `${m.nanRef} NaN` : '', m.infRef > 0 ? `${m.infRef} Inf` : ''].filter((s) => s !== '').join(' and ');
  const dead =
    unmeasured.length > 0
      ? ` ${unmeasured.length} tensor(s) have no finite value to compare (${list(
          unmeasured.map((o) => q(o.tensor)),
          T.namedInMessage,
        )}), so their metrics are NaN and they fail;`
      : '';
  return [
    {
      rule: 'reference-non-finite',
      severity: 'error',
      tensors: [first.tensor, ...hit.filter((o) => o !== first).map((o) => o.tensor)],
      message: `The float reference itself is not finite: ${tensorLabel(first)} holds ${counts} value(s), and ${hit.length} tensor(s) hold NaN/Inf in the reference.${dead} the other tensors are compared on their finite values only.`,
      suggestion:
        'Check the inputs for NaN and Inf (quantscope run --backend float --taps @all shows where they start); calibration skips them, but no layer can be judged where the reference is not a number.',
    },
  ];
}

/** Whether the reference leaves nothing to measure in a tensor (its metrics are NaN because of it). */
export function referenceUnmeasured(o: Observation): boolean {
  return o.metrics.count > 0 && o.metrics.compared === 0 && o.metrics.nanRef + o.metrics.infRef > 0;
}
