import type { ProgressEvent } from '../events.js';

/**
 * Progress over an evaluation set as one count. compareOverEvaluation runs one whole compare per
 * evaluation input, announcing each with a stage event `evaluation`; each compare then counts its
 * tap groups from 1 to G. Passed through as they are, the counts would start again at every
 * input, and a screen could tell neither how far the job is nor how long it has left. This
 * listener turns them into one count over the whole set: input k's group g is step (k−1)·G + g of
 * n·G (every input has the same taps, so the same groups), with the input named in the detail.
 * Other events pass unchanged; with one input nothing changes at all.
 */
export function evaluationProgress(
  inputs: number,
  onEvent: (event: ProgressEvent) => void,
  counted = 'compare',
): (event: ProgressEvent) => void {
  if (inputs <= 1) return onEvent;
  let input = 0;
  return (event) => {
    if (event.type === 'stage' && event.stage === 'evaluation') {
      input += 1;
      onEvent(event);
      return;
    }
    if (event.type === 'progress' && event.stage === counted && input > 0) {
      const at = `input ${input} of ${inputs}`;
      onEvent({
        ...event,
        done: (input - 1) * event.total + event.done,
        total: inputs * event.total,
        detail: event.detail ? `${at}, ${event.detail}` : at,
      });
      return;
    }
    onEvent(event);
  };
}

/**
 * The stages of the session's jobs whose step counts are known, so their progress events carry
 * done/total: calibrate (tap groups × samples), compare (tap groups, over the whole evaluation set
 * with evaluationProgress), bisect inputs (one run per evaluation input) and the bisect probes
 * (`bisect search` / `bisect certificate`, counted against the run budget: the search may end
 * sooner, never later). The stages whose totals stay unknown announce themselves with stage
 * events only: the single runs of a compare (`perturbation`, `achievable`), `fix` (how many
 * evaluations and rounds it takes depends on what each finds), `emit` (one build, one run per
 * evaluation input, one verification) and the first run of a bisect that measures the outputs.
 */
export const COUNTED_STAGES: readonly string[] = ['calibrate', 'compare', 'bisect inputs', 'bisect search', 'bisect certificate'];
