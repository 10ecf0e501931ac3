import type { Finding } from '../analysis/advisor.js';
import type { FixOutcome, FixPurpose } from '../analysis/fix-search.js';
import type { ConditionState } from '../analysis/goal-conditions.js';
import type { MetricName, Metrics } from '../analysis/metrics.js';
import type { PlanCost } from '../quant/cost.js';
import type { Override } from '../quant/plan.js';
import type { Region } from '../quant/promotion-regions.js';
import type { CulpritSearch } from './bisect/bisect.js';

/** What `fix` returns (app/fix.ts): the plan found, the outputs before and after, the rounds, the cost. */

export interface OutputResult {
  readonly tensor: string;
  readonly metrics: Metrics;
  readonly pass: boolean;
}

/** One located culprit in the bisect strategy, and the region chosen for it. */
export interface FixRound {
  readonly culprit: CulpritSearch['culprit'];
  readonly monotone: boolean;
  readonly certificate: CulpritSearch['certificate'];
  readonly probes: number;
  readonly region: Region | null;
  /** How many candidate regions were scored for this culprit. */
  readonly candidates: number;
}

/** One evaluation input's outputs under a plan. */
export interface InputResult {
  /** The input's source(s): file paths or descriptions, one per model input. */
  readonly input: string;
  readonly outputs: readonly OutputResult[];
}

export interface FixReport {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly profile: string;
  readonly strategy: 'bisect' | 'sensitivity';
  readonly target: string;
  /** The peak of the target's PSNR; null: max |x| of each float output. */
  readonly peak: number | null;
  readonly met: boolean;
  readonly stop: FixOutcome<Region>['stop'];
  /**
   * The worst output's value of the target's binding condition (the one furthest from holding)
   * under the ceiling plan (every quantized op INT16, every float op FP32), measured when the
   * starting plan missed the target; null otherwise. `reachableMetric` names the condition's metric.
   */
  readonly reachable: number | null;
  readonly reachableMetric: MetricName | null;
  /** Node names whose precision the final plan raises, in promotion order. */
  readonly promoted: readonly string[];
  readonly regions: readonly Region[];
  /** Regions promoted on the way and demoted again by pruning. */
  readonly pruned: readonly Region[];
  /** Regions pruning moved to their cheaper level (int16 to a16w8); `regions` holds them at that level. */
  readonly lowered: readonly Region[];
  /** The outputs under the final plan, each on its worst evaluation input. */
  readonly outputs: readonly OutputResult[];
  /** The outputs under the plan fix started from, each on its worst evaluation input. */
  readonly before: readonly OutputResult[];
  /** Every evaluation input's outputs, before and after; `inSample` names those also used for calibration. */
  readonly evaluation: {
    readonly inputs: readonly string[];
    readonly before: readonly InputResult[];
    readonly after: readonly InputResult[];
    readonly inSample: readonly string[];
    readonly warning: string | null;
  };
  readonly cost: PlanCost;
  /** Quant runs, every evaluation, probe and certificate included. */
  readonly quantRuns: number;
  /** Wall time of the search and the emit, in seconds. */
  readonly seconds: number;
  readonly rounds: readonly FixRound[];
  /** The plan was found by pruning the ceiling down, after promoting up fell short of the target. */
  readonly descended: boolean;
  /**
   * Sensitivity strategy: each region's output score with only it left unpromoted, worst first:
   * the target metric's value for a one-condition target, else the margin in dB (analysis/gate.ts).
   */
  readonly ranking: readonly { readonly region: string; readonly value: number }[];
  /** The plan file written. */
  readonly plan: string;
  readonly overrides: readonly Override[];
  readonly emitted: EmittedFiles | null;
  /** What the advisor (analysis/advisor.ts) makes of it: causes and what to do. */
  readonly findings: readonly Finding[];
}

/** The files `--emit` wrote, and what their verification checked. */
export interface EmittedFiles {
  readonly model: string;
  readonly quant: string;
  readonly manifest: string;
  /** Nodes whose precision was read back from the written file and found as planned. */
  readonly verifiedNodes: number;
  /** Every output of the written model, run in a fresh session, equals the quant backend's. */
  readonly outputsIdentical: boolean;
}

/**
 * A step of fix as data: an evaluation of a set of promoted regions (what it was for, and each
 * target condition on the output where it is worst), or a round's promotion (the culprit bisect
 * named, the region chosen for it, and the regions promoted before it).
 */
export type FixStepEvent =
  | {
      readonly kind: 'evaluation';
      readonly purpose: FixPurpose;
      /** The evaluation in words, as the log line says it. */
      readonly label: string;
      readonly subject: Region | null;
      readonly promoted: readonly Region[];
      readonly met: boolean;
      readonly conditions: readonly ConditionState[];
    }
  | {
      readonly kind: 'round';
      readonly culprit: { readonly node: string; readonly opType: string };
      readonly region: Region | null;
      readonly candidates: number;
      /** The regions promoted when the round located its culprit. */
      readonly before: readonly Region[];
    };
