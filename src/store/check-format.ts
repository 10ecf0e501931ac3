import Table from 'cli-table3';
import type { CheckResult, DeployedOutputCheck, TensorEmulationCheck } from '../analysis/emulation-check.js';
import { displayName } from '../core/closest.js';

/** The schema version of `check --json`. */
export const CHECK_SCHEMA_VERSION = 1;

/** How many rows the table shows unless every row is asked for: every mismatch, then the largest differences. */
const SHOWN_ROWS = 12;

function steps(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : String(x);
  return x === 0 ? '0' : x < 0.01 ? x.toExponential(1) : x.toFixed(2);
}

function db(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)} dB` : x > 0 ? 'exact' : String(x);
}

function stepText(r: TensorEmulationCheck): string {
  const basis = r.basis === 'scale' ? 'scale' : r.basis === 'fp16' ? 'fp16 ulp' : 'peak grid';
  return `${r.step.toPrecision(3)} (${basis})`;
}

/** The rows worth showing: mismatches first, then the largest differences, in topological order within each. */
export function shownRows(result: CheckResult, all: boolean): TensorEmulationCheck[] {
  if (all) return [...result.tensors];
  const mismatches = result.tensors.filter((r) => r.verdict === 'mismatch');
  const rest = result.tensors
    .filter((r) => r.verdict !== 'mismatch' && r.difference.maxAbs > 0)
    .sort((a, b) => b.difference.maxSteps - a.difference.maxSteps)
    .slice(0, Math.max(0, SHOWN_ROWS - mismatches.length));
  const keep = new Set([...mismatches, ...rest]);
  return result.tensors.filter((r) => keep.has(r));
}

/** The check as terminal text: a summary line, a table of the rows that matter, the deployed outputs, notes and a verdict sentence. */
export function formatCheckText(result: CheckResult, options: { all?: boolean } = {}): string {
  const count = (v: string) => result.tensors.filter((r) => r.verdict === v).length;
  const lines = [
    `${displayName(result.model)} · ${result.profile}: each kernel of the optimized quant model against its literal QDQ evaluation on the same inputs`,
    `${result.tensors.length} tensors: ${count('identical')} identical, ${count('within')} within ${result.tolerance} step(s), ${count('mismatch')} mismatch(es)`,
  ];
  const rows = shownRows(result, options.all ?? false);
  if (rows.length > 0) {
    const table = new Table({
      head: ['tensor', 'op type', 'stored', 'step', 'max diff', 'rms', '>1 step', 'verdict'],
      style: { head: [], border: [] },
      colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    });
    for (const r of rows) {
      table.push([
        displayName(r.tensor, 40),
        r.opType,
        r.storage,
        stepText(r),
        steps(r.difference.maxSteps),
        steps(r.difference.rmsSteps),
        `${r.difference.overOneStep + r.difference.nonFiniteMismatch}`,
        r.verdict,
      ]);
    }
    lines.push(table.toString());
    if (!options.all && rows.length < result.tensors.length)
      lines.push(`(${result.tensors.length - rows.length} more rows with --all or --json; differences are in steps of each tensor)`);
  }
  for (const d of result.deployed) lines.push(deployedLine(d));
  for (const note of result.notes) lines.push(`note: ${note}`);
  lines.push(verdictSentence(result));
  return lines.join('\n');
}

function deployedLine(d: DeployedOutputCheck): string {
  return `without taps, output '${displayName(d.tensor, 40)}': max diff ${steps(d.difference.maxSteps)} step(s), SNR against float ${db(d.literalSnrDb)} literal, ${db(d.optimizedSnrDb)} optimized: ${d.verdict}`;
}

/** One sentence: the emulation agrees with the plan, or where it first does not. */
export function verdictSentence(result: CheckResult): string {
  const bad = [...result.tensors, ...result.deployed].filter((r) => r.verdict === 'mismatch');
  if (bad.length === 0) return 'The emulation computes what the plan says.';
  const first = bad[0];
  const where = first.node ? ` (node '${displayName(first.node)}', ${first.opType})` : '';
  const what =
    first.difference.nonFiniteMismatch > 0
      ? `${first.difference.nonFiniteMismatch} NaN/Inf value(s) on one side only`
      : `a difference of ${steps(first.difference.maxSteps)} step(s)`;
  return `The emulation differs from the plan at ${bad.length} tensor(s); the first is '${displayName(first.tensor)}'${where} with ${what}.`;
}

/** What `check --json` prints. */
export function checkJson(result: CheckResult): Record<string, unknown> {
  return { schemaVersion: CHECK_SCHEMA_VERSION, ...result, verdict: verdictSentence(result) };
}
