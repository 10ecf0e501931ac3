import { InternalError } from '../core/errors.js';

/**
 * Fix (DESIGN.md §5) as a pure state machine over "regions": sets of nodes promoted together,
 * known to this machine only by a key. `next()` asks for an evaluation of a set of promoted
 * regions (one quant run with no taps, reported as met or not plus a score), for the next region
 * to promote (the app bisects and applies its region rule), or gives the result. Tests drive it
 * with tables; app/fix.ts drives it with models.
 *
 * Reachable first: when the plan misses the target and a `ceiling` is given (every region
 * promoted as far as it goes: quantized ops INT16, float ops FP32), that plan is evaluated next.
 * If even it misses the target, no set of promotions can meet it: the search stops at once
 * (`unreachable`) instead of spending promotions, and `reachable` holds its evaluation.
 *
 * `bisect` strategy: evaluate the plan; while an output misses the target and the budget allows,
 * locate (bisect) and promote, then evaluate again. A locate answers one region, or several
 * candidates (the culprit's kernel, the kernels that feed or consume it), cheapest first: each is
 * then evaluated promoted alone on top of the current set, and the first that meets the target
 * is promoted (the cheapest that suffices); when none does, the best score (ties: the earlier).
 * `sensitivity` strategy: with every region but one promoted, evaluate each region's effect
 * alone (its "sensitivity"); then promote regions greedily, worst score first, evaluating after
 * each, until the target is met or the budget is spent.
 * Both then prune: each promoted region in reverse order is tried demoted, and stays demoted if
 * the target still holds; one that is needed is tried at its cheaper level (`cheaper`: a16w8 for
 * int16), and stays there if the target still holds.
 *
 * Descent. When the search stops short (promotion budget spent, or nothing left to promote) but
 * the ceiling met the target, the plan is reachable from above: with `ceilingParts` (the regions
 * the ceiling is made of, cheapest first) every part is promoted and then pruned, dearest first,
 * each demotion kept while the target holds. The result meets the target; `descended` says so.
 * With `targetScore`, the search descends early once the pace of its promotions so far cannot
 * reach the target within the budget (see outpaced): a target that needs most of the model
 * promoted is reached from above without spending the budget first. An evaluation of a set
 * already evaluated is answered from memory.
 */

export interface RegionKey {
  readonly key: string;
}

export interface Evaluation {
  /** Every output meets the target. */
  readonly met: boolean;
  /** How good the outputs are, higher is better (the worst output's target metric, oriented). */
  readonly score: number;
}

export type FixPurpose = 'baseline' | 'reachable' | 'promotion' | 'candidate' | 'sensitivity' | 'prune';

export type FixStep<G extends RegionKey> =
  | { readonly kind: 'evaluate'; readonly promoted: readonly G[]; readonly purpose: FixPurpose; readonly subject?: G }
  | { readonly kind: 'locate'; readonly promoted: readonly G[] }
  | { readonly kind: 'done'; readonly outcome: FixOutcome<G> };

export interface FixOutcome<G extends RegionKey> {
  readonly met: boolean;
  /** The promoted regions that survived pruning, in promotion order. */
  readonly promoted: readonly G[];
  /** Regions promoted and then demoted again by pruning. */
  readonly pruned: readonly G[];
  /** Regions pruning replaced by their cheaper level (the replacements are in `promoted`). */
  readonly lowered: readonly G[];
  /** Why the loop stopped promoting. */
  readonly stop: 'met' | 'budget' | 'nothing-to-promote' | 'unreachable';
  /** The ceiling's evaluation, when it was measured (the plan missed the target and a ceiling was given). */
  readonly reachable: Evaluation | null;
  /** The plan came from pruning the ceiling down (see the module comment), not from promoting up. */
  readonly descended: boolean;
  /** The evaluation of the final set. */
  readonly final: Evaluation;
  /** Sensitivity strategy: each region's score with only it left unpromoted, worst first. */
  readonly ranking: readonly { readonly region: G; readonly score: number }[];
}

export interface FixSearchInit<G extends RegionKey> {
  readonly strategy: 'bisect' | 'sensitivity';
  readonly maxPromotions: number;
  /** Sensitivity strategy: every region that can be promoted. */
  readonly regions?: readonly G[];
  /** One region promoting everything that can be promoted (see the module comment). */
  readonly ceiling?: G;
  /**
   * The regions the ceiling is made of, cheapest first, for the descent; none: no descent (a
   * caller whose user set the promotion budget keeps to it).
   */
  readonly ceilingParts?: readonly G[];
  /**
   * The score at which the target is met (a margin's 0, or the target's value oriented), for the
   * early descent; none: the search only descends when its budget is spent.
   */
  readonly targetScore?: number;
  /**
   * The same region one promotion level cheaper (a16w8 for int16), or null: pruning tries it for
   * every region it cannot demote altogether.
   */
  readonly cheaper?: (region: G) => G | null;
}

type Phase = 'baseline' | 'reachable' | 'promote' | 'choose' | 'sensitivity' | 'greedy' | 'prune' | 'done';

export class FixSearch<G extends RegionKey> {
  private readonly memo = new Map<string, Evaluation>();
  private phase: Phase = 'baseline';
  private promoted: G[] = [];
  private pruned: G[] = [];
  private lowered: G[] = [];
  private stop: FixOutcome<G>['stop'] = 'met';
  private pending: FixStep<G> | null = null;
  private outcome: FixOutcome<G> | null = null;
  private ranking: { region: G; score: number }[] = [];
  private sensitivityAt = 0;
  private candidates: G[] = [];
  /** What the last locate led to: the region promoted for it, or null (nothing to promote); undefined while scoring. */
  private chosen: G | null | undefined = undefined;
  private descended = false;
  private greedyAt = 0;
  private pruneAt = 0;
  private final: Evaluation | null = null;

  constructor(private readonly init: FixSearchInit<G>) {
    if (!(init.maxPromotions >= 0)) throw new InternalError('maxPromotions must be >= 0');
    this.step();
  }

  next(): FixStep<G> {
    if (this.outcome) return { kind: 'done', outcome: this.outcome };
    if (!this.pending) throw new InternalError('fix has neither a step nor a result');
    return this.pending;
  }

  /** Answers the pending evaluation. */
  reportEvaluation(evaluation: Evaluation): void {
    const p = this.pending;
    if (!p || p.kind !== 'evaluate') throw new InternalError('fix got an evaluation with none pending');
    this.pending = null;
    this.memo.set(keyOf(p.promoted), evaluation);
    this.step();
  }

  /** Answers the pending locate: the region to promote next, or null when nothing is left. */
  reportRegion(region: G | null): void {
    const p = this.pending;
    if (!p || p.kind !== 'locate') throw new InternalError('fix got a region with no locate pending');
    this.pending = null;
    this.chosen = region === null || this.promoted.some((r) => r.key === region.key) ? null : region;
    if (region === null || this.promoted.some((r) => r.key === region.key)) {
      this.toPrune('nothing-to-promote', this.memo.get(keyOf(this.promoted)) ?? { met: false, score: -Infinity });
    } else {
      this.promoted.push(region);
    }
    this.step();
  }

  /** The regions promoted so far, in order (pruning has not demoted any of them yet). */
  promotedSoFar(): readonly G[] {
    return [...this.promoted];
  }

  /** The region the last locate's answer was promoted as (after its candidates were scored), or null when none was. */
  lastChoice(): G | null {
    return this.chosen ?? null;
  }

  /** Answers the pending locate with candidates to score; an empty list means nothing is left. */
  reportCandidates(candidates: readonly G[]): void {
    const fresh = candidates.filter(
      (c, i) => !this.promoted.some((r) => r.key === c.key) && candidates.findIndex((d) => d.key === c.key) === i,
    );
    if (fresh.length <= 1) {
      this.reportRegion(fresh[0] ?? null);
      return;
    }
    const p = this.pending;
    if (!p || p.kind !== 'locate') throw new InternalError('fix got candidates with no locate pending');
    this.pending = null;
    this.candidates = fresh;
    this.chosen = undefined;
    this.phase = 'choose';
    this.step();
  }

  /** Moves the machine until it needs an answer. */
  private step(): void {
    for (;;) {
      switch (this.phase) {
        case 'baseline': {
          const e = this.memo.get(keyOf([]));
          if (!e) return this.ask({ kind: 'evaluate', promoted: [], purpose: 'baseline' });
          if (e.met) return this.finish('met', e);
          this.phase = 'reachable';
          continue;
        }
        case 'reachable': {
          const ceiling = this.init.ceiling;
          if (ceiling) {
            const e = this.memo.get(keyOf([ceiling]));
            if (!e) return this.ask({ kind: 'evaluate', promoted: [ceiling], purpose: 'reachable', subject: ceiling });
            if (!e.met) return this.finish('unreachable', this.memo.get(keyOf([])) as Evaluation);
          }
          this.phase = this.init.strategy === 'bisect' ? 'promote' : 'sensitivity';
          continue;
        }
        case 'promote': {
          const e = this.memo.get(keyOf(this.promoted));
          if (!e) return this.ask({ kind: 'evaluate', promoted: [...this.promoted], purpose: 'promotion' });
          if (e.met) {
            this.toPrune('met', e);
            continue;
          }
          if (this.promoted.length >= this.init.maxPromotions) {
            this.toPrune('budget', e);
            continue;
          }
          if (this.outpaced(e)) {
            this.toPrune('budget', e);
            continue;
          }
          return this.ask({ kind: 'locate', promoted: [...this.promoted] });
        }
        case 'choose': {
          let best: { region: G; score: number; met: boolean } | null = null;
          for (const c of this.candidates) {
            const set = [...this.promoted, c];
            const e = this.memo.get(keyOf(set));
            if (!e) return this.ask({ kind: 'evaluate', promoted: set, purpose: 'candidate', subject: c });
            if (e.met) {
              best = { region: c, score: e.score, met: true };
              break;
            }
            if (!best || orderScore(e.score) > orderScore(best.score)) best = { region: c, score: e.score, met: false };
          }
          this.promoted.push((best as { region: G }).region);
          this.chosen = (best as { region: G }).region;
          this.candidates = [];
          this.phase = 'promote';
          continue;
        }
        case 'sensitivity': {
          const regions = this.init.regions ?? [];
          if (this.sensitivityAt < regions.length) {
            const subject = regions[this.sensitivityAt];
            const others = regions.filter((r) => r.key !== subject.key);
            const e = this.memo.get(keyOf(others));
            if (!e) return this.ask({ kind: 'evaluate', promoted: others, purpose: 'sensitivity', subject });
            this.ranking.push({ region: subject, score: e.score });
            this.sensitivityAt += 1;
            continue;
          }
          // Worst first; ties keep the regions' order (a stable sort).
          this.ranking.sort((a, b) => orderScore(a.score) - orderScore(b.score));
          this.phase = 'greedy';
          continue;
        }
        case 'greedy': {
          const e = this.memo.get(keyOf(this.promoted));
          if (!e) return this.ask({ kind: 'evaluate', promoted: [...this.promoted], purpose: 'promotion' });
          if (e.met) {
            this.toPrune('met', e);
            continue;
          }
          if (this.promoted.length >= this.init.maxPromotions) {
            this.toPrune('budget', e);
            continue;
          }
          if (this.greedyAt >= this.ranking.length) {
            this.toPrune('nothing-to-promote', e);
            continue;
          }
          this.promoted.push(this.ranking[this.greedyAt].region);
          this.greedyAt += 1;
          continue;
        }
        case 'prune': {
          // Pruning only makes sense once the target is met: it keeps it met with fewer promotions.
          if (this.stop !== 'met' || this.pruneAt < 0)
            return this.finish(this.stop, this.final ?? this.memo.get(keyOf(this.promoted)) ?? { met: false, score: -Infinity });
          const region = this.promoted[this.pruneAt];
          const without = this.promoted.filter((_, i) => i !== this.pruneAt);
          const known = this.memo.get(keyOf(without));
          if (!known) return this.ask({ kind: 'evaluate', promoted: without, purpose: 'prune', subject: region });
          if (known.met) {
            this.pruned.push(this.promoted.splice(this.pruneAt, 1)[0]);
            this.final = known;
          } else {
            // Needed: then perhaps at the cheaper level.
            const cheaper = this.init.cheaper?.(region) ?? null;
            if (cheaper) {
              const swapped = this.promoted.map((r, i) => (i === this.pruneAt ? cheaper : r));
              const e = this.memo.get(keyOf(swapped));
              if (!e) return this.ask({ kind: 'evaluate', promoted: swapped, purpose: 'prune', subject: cheaper });
              if (e.met) {
                this.lowered.push(region);
                this.promoted[this.pruneAt] = cheaper;
                this.final = e;
              }
            }
          }
          this.pruneAt -= 1;
          continue;
        }
        case 'done':
          return;
      }
    }
  }

  /**
   * Early descent: after at least two promotions up, when even the average gain per promotion so
   * far, kept up for every promotion the budget has left, would not close the gap to the target,
   * promoting up cannot get there: descend from the ceiling now instead of spending the budget.
   * Only when a descent is possible (ceiling parts, a ceiling that meets the target).
   */
  private outpaced(e: Evaluation): boolean {
    const target = this.init.targetScore;
    const k = this.promoted.length;
    if (target === undefined || this.descended || k < 2 || (this.init.ceilingParts ?? []).length === 0) return false;
    const ceiling = this.init.ceiling ? this.memo.get(keyOf([this.init.ceiling])) : undefined;
    const start = this.memo.get(keyOf([]));
    if (!ceiling?.met || !start || !Number.isFinite(start.score) || !Number.isFinite(e.score)) return false;
    const gain = (e.score - start.score) / k;
    return !(gain > 0) || gain * (this.init.maxPromotions - k) < target - e.score;
  }

  private toPrune(stop: FixOutcome<G>['stop'], e: Evaluation): void {
    const ceiling = this.init.ceiling;
    const parts = this.init.ceilingParts ?? [];
    const reachable = ceiling ? this.memo.get(keyOf([ceiling])) : undefined;
    if (stop !== 'met' && !this.descended && reachable?.met && parts.length > 0) {
      // Short of the target but it is reachable: start from everything promoted and prune down.
      this.descended = true;
      this.promoted = [...parts];
      this.phase = 'promote';
      return;
    }
    this.stop = stop;
    this.final = e;
    this.phase = 'prune';
    this.pruneAt = this.promoted.length - 1;
  }

  private ask(step: FixStep<G>): void {
    this.pending = step;
  }

  private finish(stop: FixOutcome<G>['stop'], final: Evaluation): void {
    this.phase = 'done';
    const ceiling = this.init.ceiling;
    const reachable = ceiling ? (this.memo.get(keyOf([ceiling])) ?? null) : null;
    this.outcome = {
      met: final.met,
      promoted: [...this.promoted],
      pruned: [...this.pruned],
      lowered: [...this.lowered],
      stop,
      final,
      ranking: [...this.ranking],
      reachable,
      descended: this.descended,
    };
  }
}

/** Sort key for scores, worst first: NaN counts as the worst. */
function orderScore(score: number): number {
  return Number.isNaN(score) ? -Infinity : score;
}

function keyOf(regions: readonly RegionKey[]): string {
  return JSON.stringify(regions.map((r) => r.key).sort());
}
