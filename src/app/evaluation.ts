import { sha256OfTensor } from '../store/manifest.js';
import type { CalibrationTable } from '../quant/calibration-table.js';
import { calibrationSamples } from './calibration-inputs.js';
import type { ModelContext } from './context.js';

/**
 * Evaluation sets (DESIGN.md §5): the inputs every metric and target is taken over, apart from
 * the calibration inputs. `--eval PATH…` (files or folders; NAME=PATH for a named input) gives
 * them; without it the one evaluation input is `--input` (or the synthetic one). Each evaluation
 * input is a ModelContext of its own that shares the model, graph and inferred shapes, so the
 * runs over it are the same code as over `--input`; they are measured one at a time.
 */
export async function evaluationContexts(ctx: ModelContext, evalValues: readonly string[] | undefined): Promise<ModelContext[]> {
  if (!evalValues || evalValues.length === 0) return [ctx];
  const samples = await calibrationSamples(ctx, evalValues, 'Evaluation');
  return samples.map((s) => ({
    ...ctx,
    feeds: s.feeds,
    sources: [...s.feeds].map(([name, t]) => {
      const from = s.sources.find((x) => x.name === name);
      return { name, source: from?.source ?? name, sha256: from?.sha256 ?? sha256OfTensor(t), shape: [...t.dims], dtype: t.dtype };
    }),
  }));
}

/** The evaluation inputs that are also calibration inputs (same tensor, by sha256). */
export function inSampleInputs(evaluation: readonly ModelContext[], calibration: CalibrationTable): string[] {
  const calibrated = new Set(calibration.inputs.map((i) => i.sha256));
  return evaluation.flatMap((c) => c.sources.filter((s) => calibrated.has(s.sha256)).map((s) => s.source));
}

/**
 * One sentence for reports when evaluation and calibration overlap; null when they do not.
 * `evalFlag`: the command takes --eval (fix, emit), so the sentence may point to it.
 */
export function inSampleWarning(evaluation: readonly ModelContext[], calibration: CalibrationTable, evalFlag = true): string | null {
  const shared = inSampleInputs(evaluation, calibration);
  if (shared.length === 0) return null;
  const all = evaluation.flatMap((c) => c.sources).length;
  return `in-sample: ${shared.length === all ? 'every evaluation input is' : `${shared.length} of ${all} evaluation inputs are`} also a calibration input, so these numbers may not hold on new inputs; calibrate on other inputs with --calib${evalFlag ? ' (and evaluate on several with --eval)' : ''}.`;
}
