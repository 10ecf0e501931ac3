import type { ComparisonReport } from '../analysis/comparison.js';
import { UserError, messageOf } from '../core/errors.js';

/**
 * report.json. JSON has no Infinity or NaN, so every non-finite number is written as the string
 * "Infinity", "-Infinity" or "NaN" (an SNR of +Inf for identical tensors is common);
 * parseReportJson turns them back into numbers in the numeric fields only, so a tensor named
 * "NaN" stays a string. Each row may carry `distribution` (histograms and per-channel ranges, absent
 * in reports written before them). The advisor's findings are written last, as
 * `"findings": [{ "rule", "severity", "tensors", "message", "suggestion" }]`.
 */

const NON_FINITE: Readonly<Record<string, number>> = { Infinity: Infinity, '-Infinity': -Infinity, NaN: Number.NaN };

/** The report as indented JSON with schemaVersion first; non-finite numbers as strings (see the module comment). */
export function formatJson(report: ComparisonReport): string {
  const { schemaVersion, ...rest } = report;
  return `${JSON.stringify({ schemaVersion, ...rest }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value), 2)}\n`;
}

/** Reads report.json text back; `source` names the file in errors. */
export function parseReportJson(text: string, source = 'report.json'): ComparisonReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${source} is not valid JSON (${messageOf(error)}).`, { cause: error });
  }
  if (typeof data !== 'object' || data === null || !Array.isArray((data as { rows?: unknown }).rows)) {
    throw new UserError(`${source} is not a quantscope comparison report (no rows).`);
  }
  const report = data as Record<string, unknown> & { rows: Record<string, unknown>[] };
  if (report.schemaVersion !== 1) {
    throw new UserError(`${source} has report schema version ${JSON.stringify(report.schemaVersion)}; this quantscope reads version 1.`);
  }
  if (report.findings !== undefined && !isFindingList(report.findings)) {
    throw new UserError(`${source} has a findings field that is not a list of {rule, severity, tensors, message, suggestion}.`);
  }
  report.threshold = reviveNumber(report.threshold);
  for (const row of report.rows) {
    if (row.metrics) row.metrics = reviveAll(row.metrics);
    if (row.own) row.own = reviveAll(row.own);
    // Reports written before the value histograms have no distribution; they load as they are.
    if (row.distribution !== undefined && row.distribution !== null) {
      row.distribution = reviveAll(row.distribution);
      if (!isDistribution(row.distribution)) {
        throw new UserError(
          `${source} has a distribution for tensor ${JSON.stringify(row.tensor)} that is not {lo, hi, ref, test, channels}.`,
        );
      }
    }
  }
  for (const key of ['perturbation', 'achievable']) {
    const o = report[key] as Record<string, unknown> | null | undefined;
    if (o) for (const k of ['withTaps', 'withoutTaps', 'value']) if (k in o) o[k] = reviveNumber(o[k]);
  }
  return report as unknown as ComparisonReport;
}

/** Whether a value is a list of advisor findings: rule, severity, message and suggestion strings and a list of tensor names. */
function isFindingList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every((f) => {
      if (typeof f !== 'object' || f === null) return false;
      const x = f as Record<string, unknown>;
      return (
        ['rule', 'severity', 'message', 'suggestion'].every((k) => typeof x[k] === 'string') &&
        Array.isArray(x.tensors) &&
        x.tensors.every((t) => typeof t === 'string')
      );
    })
  );
}

/** Whether a revived value has the shape of analysis/distribution.ts ValueDistribution. */
function isDistribution(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  const counts = (v: unknown): v is number[] => Array.isArray(v) && v.every((c) => typeof c === 'number');
  if (typeof d.lo !== 'number' || typeof d.hi !== 'number' || !counts(d.ref) || !counts(d.test) || d.ref.length !== d.test.length)
    return false;
  if (d.channels === null) return true;
  if (typeof d.channels !== 'object' || d.channels === undefined) return false;
  const c = d.channels as Record<string, unknown>;
  const keys = ['channel', 'refMin', 'refMax', 'testMin', 'testMax', 'snrDb'];
  return (
    typeof c.axis === 'number' &&
    typeof c.count === 'number' &&
    Array.isArray(c.ranges) &&
    c.ranges.every((r) => typeof r === 'object' && r !== null && keys.every((k) => typeof (r as Record<string, unknown>)[k] === 'number'))
  );
}

function reviveNumber(value: unknown): unknown {
  return typeof value === 'string' && value in NON_FINITE ? NON_FINITE[value] : value;
}

/** Revives every string leaf of an all-numeric object (metrics and their nested ranges/percentiles). */
function reviveAll(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveAll);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = reviveAll(v);
    return out;
  }
  return reviveNumber(value);
}
