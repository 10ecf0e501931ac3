import { displayName } from '../../core/closest.js';
import { ExitCode, UserError, messageOf } from '../../core/errors.js';
import type { Graph } from '../../core/graph.js';
import { formatDims, type Tensor } from '../../core/tensor.js';
import { OrtSession } from '../../backends/session.js';
import { readModel } from '../../store/model-file.js';
import { graphOf } from '../../onnx/index.js';
import type { Plan } from '../../quant/plan.js';
import type { KnownValue } from '../../quant/qdq-rewrite.js';
import { readFileBytes } from '../../store/files.js';
import { checkPrecisions, type PrecisionCheck } from '../../quant/emit-check.js';

/**
 * Verification of a written QDQ model (DESIGN.md §6): read the file back, check every node's
 * precision against the plan (quant/emit-check.ts), run it in a fresh onnxruntime session and require
 * its outputs to equal, element for element, what the quant backend produced on the same feeds.
 * Both run the same bytes on the same provider with the same options, so any difference at all
 * means the file is not the model that was measured.
 *
 * A failure is an EmitVerificationError: exit code 3, because it means quantscope (or
 * onnxruntime) wrote something other than what was planned and measured, which no input of the
 * user's can cause; it prints as one sentence, without a stack, since the list of mismatches is
 * what helps.
 */

export class EmitVerificationError extends UserError {
  readonly mismatches: readonly string[];
  constructor(file: string, mismatches: readonly string[]) {
    const shown = mismatches.slice(0, 3).join('; ');
    const more = mismatches.length > 3 ? `; and ${mismatches.length - 3} more` : '';
    super(`Verification of the emitted model '${displayName(file)}' failed, so it was not written: ${shown}${more}.`, {
      exitCode: ExitCode.internal,
    });
    this.name = 'EmitVerificationError';
    this.mismatches = mismatches;
  }
}

export interface VerifyOptions {
  /** The model file to verify. */
  readonly file: string;
  /** The name to use in messages (the final name of a staged file). */
  readonly label?: string;
  readonly source: Graph;
  readonly plan: Plan;
  readonly values: ReadonlyMap<string, KnownValue>;
  readonly feeds: ReadonlyMap<string, Tensor>;
  /** The quant backend's outputs on `feeds`, by output name. */
  readonly expected: ReadonlyMap<string, Tensor>;
}

export interface OutputAgreement {
  readonly name: string;
  readonly identical: boolean;
  /** Elements that differ (NaN equals NaN). */
  readonly differing: number;
  readonly maxAbsDiff: number;
}

export interface EmitVerification {
  readonly precision: PrecisionCheck;
  readonly outputs: readonly OutputAgreement[];
}

/** Compares two output tensors element for element. */
export function agreement(name: string, actual: Tensor, expected: Tensor): OutputAgreement {
  if (actual.dtype !== expected.dtype || actual.data.length !== expected.data.length) {
    return { name, identical: false, differing: Math.max(actual.data.length, expected.data.length), maxAbsDiff: Infinity };
  }
  let differing = 0;
  let maxAbsDiff = 0;
  const a = actual.data as ArrayLike<number | bigint>;
  const e = expected.data as ArrayLike<number | bigint>;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = e[i];
    if (x === y || (x !== x && y !== y)) continue;
    differing++;
    const d = typeof x === 'number' && typeof y === 'number' ? Math.abs(x - y) : Infinity;
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
  }
  return { name, identical: differing === 0, differing, maxAbsDiff };
}

/** Verifies the file (see the module comment); throws EmitVerificationError listing every mismatch. */
export async function verifyEmittedModel(options: VerifyOptions): Promise<EmitVerification> {
  const label = options.label ?? options.file;
  const mismatches: string[] = [];
  let written: Graph;
  try {
    written = graphOf(readModel(options.file));
  } catch (error) {
    throw new EmitVerificationError(label, [`it cannot be read back (${messageOf(error)})`]);
  }
  const precision = checkPrecisions({ source: options.source, plan: options.plan, written, values: options.values });
  mismatches.push(...precision.mismatches);

  const outputs: OutputAgreement[] = [];
  let session: OrtSession | undefined;
  try {
    session = await OrtSession.createWithDefaults(readFileBytes(options.file), `the emitted model '${displayName(label)}'`);
    const names = [...options.expected.keys()];
    const got = await session.run(options.feeds, names);
    for (const [name, expected] of options.expected) {
      const actual = got.get(name);
      if (!actual) {
        mismatches.push(`it has no output '${displayName(name)}'`);
        continue;
      }
      const a = agreement(name, actual, expected);
      outputs.push(a);
      if (!a.identical) {
        mismatches.push(
          actual.dtype !== expected.dtype || actual.data.length !== expected.data.length
            ? `its output '${displayName(name)}' is ${actual.dtype} ${formatDims(actual.dims)} where the quant backend gave ${expected.dtype} ${formatDims(expected.dims)}`
            : `its output '${displayName(name)}' differs from the quant backend's in ${a.differing} element(s) (max |difference| ${a.maxAbsDiff.toPrecision(3)})`,
        );
      }
    }
  } catch (error) {
    if (error instanceof EmitVerificationError) throw error;
    mismatches.push(messageOf(error).replace(/\.$/, ''));
  } finally {
    await session?.dispose();
  }
  if (mismatches.length > 0) throw new EmitVerificationError(label, mismatches);
  return { precision, outputs };
}
