import { InternalError } from '../core/errors.js';
import type { Graph, GraphNode } from '../core/graph.js';

/**
 * Bisect (DESIGN.md §5) as a pure state machine: `next()` says which tensors to tap in the next
 * quant run (or gives the result), `report(results)` feeds that run's per-tensor results. The
 * loop that builds and runs models lives in app/bisect/bisect.ts; tests drive this with tables.
 *
 * Search. The candidates are the failing output's ancestors in topological order, the output
 * last (it is known to fail: the caller measured it in a run with no taps). A binary search over
 * them finds the earliest failing candidate, assuming the error is monotone along the order
 * (every candidate after a failing one fails), in at most ⌈log2 N⌉ single-tap probes. Results
 * already known (`known`, or observed earlier in this search) narrow the interval and are used
 * without a probe.
 *
 * Certificate. One more run taps the culprit together with its direct inputs (those that are
 * candidates: the others cannot differ from the reference). The culprit is certified when every
 * input passes. When none of its inputs can differ, it is certified without a run. When an input
 * fails, the error was not monotone: the search continues among the candidates that are
 * ancestors of the earliest failing input (that input last, known failing), and the result says
 * `monotone: false`. Each continuation moves strictly earlier in the order, so the search ends.
 * If the culprit itself passes in the certificate run (its taps changed the numerics) it is
 * still named, and `certificate` says so.
 *
 * Budget. With `maxProbes`, the search never runs more probes than that (bisect passes
 * ⌈log2 N⌉ + 1, so that with the run with no taps it stays within ⌈log2 N⌉ + 2 quant runs, as
 * promised, even when the error is not monotone). A monotone search always fits. When the next
 * probe would exceed the budget, the search stops: the culprit is the earliest candidate known to
 * fail, the certificate says `budget`, and `uncertain` lists the candidates before it that were
 * never measured and might still hold the first failure.
 *
 * Suspect. `fix` bisects again after each promotion; the previous culprit is then certified
 * first, and when it still fails with passing inputs it is the culprit again after one run.
 */

export interface BisectCandidate {
  readonly tensor: string;
  /** The candidates among the tensors its producing node reads (its direct inputs that can differ). */
  readonly inputs: readonly string[];
}

export interface BisectInit<R> {
  /** In topological order; the last one is the failing output. */
  readonly candidates: readonly BisectCandidate[];
  /** The failing output's result in the run with no taps. */
  readonly outputResult: R;
  readonly passes: (result: R) => boolean;
  /** Results observed before (a previous round of `fix` whose tensors did not change). */
  readonly known?: ReadonlyMap<string, R>;
  /**
   * A candidate suspected to be the culprit (the previous culprit of a `fix` round). It is
   * certified first: if it fails while its inputs pass, it is the culprit and no search runs.
   * If it passes, the search runs knowing that; if an input fails, the search runs among that
   * input's ancestors (the error moved earlier, which says nothing about monotonicity).
   */
  readonly suspect?: string;
  /** The most probes to run (see the module comment); unlimited when absent. */
  readonly maxProbes?: number;
}

export type BisectProbe =
  | { readonly kind: 'search'; readonly taps: readonly string[] }
  | { readonly kind: 'certificate'; readonly culprit: string; readonly taps: readonly string[]; readonly suspect?: boolean };

export interface ProbeRecord<R> {
  readonly kind: BisectProbe['kind'];
  readonly taps: readonly string[];
  readonly results: readonly { readonly tensor: string; readonly result: R; readonly pass: boolean }[];
}

/**
 * - `inputs-pass`: the certificate run shows every input passing and the culprit failing;
 * - `inputs-identical`: no input of the culprit can differ from the reference, so no run was needed;
 * - `culprit-passed`: the inputs pass, but so does the culprit once they are tapped too;
 * - `budget`: not certified: the probe budget ran out (see `uncertain`).
 */
export type Certificate = 'inputs-pass' | 'inputs-identical' | 'culprit-passed' | 'budget';

export interface BisectOutcome<R> {
  readonly culprit: string;
  readonly culpritResult: R;
  /** The culprit's candidate inputs with their results in the certificate run. */
  readonly inputs: readonly { readonly tensor: string; readonly result: R; readonly pass: boolean }[];
  readonly certificate: Certificate;
  /** False when a certificate found a failing input and the search had to continue. */
  readonly monotone: boolean;
  readonly probes: readonly ProbeRecord<R>[];
  /**
   * With certificate `budget`: the candidates before the culprit, in order, that were never
   * measured and might still hold the first failure (empty when the search had converged and
   * only the certificate run was missing).
   */
  readonly uncertain: readonly string[];
}

export type BisectStep<R> =
  { readonly done: false; readonly probe: BisectProbe } | { readonly done: true; readonly outcome: BisectOutcome<R> };

export class BisectSearch<R> {
  private readonly byTensor: ReadonlyMap<string, BisectCandidate>;
  private readonly order: ReadonlyMap<string, number>;
  private readonly observed = new Map<string, R>();
  private readonly probes: ProbeRecord<R>[] = [];
  /** The tensors being searched, in order; the last is known to fail. */
  private list: string[];
  private lo = 0;
  private hi: number;
  private pending: BisectProbe | null = null;
  private outcome: BisectOutcome<R> | null = null;
  private monotone = true;

  constructor(private readonly init: BisectInit<R>) {
    const candidates = init.candidates;
    if (candidates.length === 0) throw new InternalError('bisect needs at least the failing output as a candidate');
    this.byTensor = new Map(candidates.map((c) => [c.tensor, c]));
    this.order = new Map(candidates.map((c, i) => [c.tensor, i]));
    for (const [t, r] of init.known ?? []) this.observed.set(t, r);
    const output = candidates[candidates.length - 1].tensor;
    this.observed.set(output, init.outputResult);
    this.list = [];
    this.hi = 0;
    if (init.suspect !== undefined && this.byTensor.has(init.suspect)) {
      this.pending = { kind: 'certificate', culprit: init.suspect, taps: [...this.inputsOf(init.suspect), init.suspect], suspect: true };
      return;
    }
    this.startSearch(candidates.map((c) => c.tensor));
  }

  next(): BisectStep<R> {
    if (this.outcome) return { done: true, outcome: this.outcome };
    if (!this.pending) throw new InternalError('bisect has neither a probe nor a result');
    return { done: false, probe: this.pending };
  }

  /** Feeds the pending probe's results: one per tapped tensor. */
  report(results: ReadonlyMap<string, R>): void {
    const probe = this.pending;
    if (!probe) throw new InternalError('bisect got a report with no probe pending');
    for (const t of probe.taps) if (!results.has(t)) throw new InternalError(`bisect probe result lacks tensor '${t}'`);
    this.pending = null;
    this.probes.push({
      kind: probe.kind,
      taps: probe.taps,
      results: probe.taps.map((t) => {
        const result = results.get(t) as R;
        return { tensor: t, result, pass: this.init.passes(result) };
      }),
    });
    for (const t of probe.taps) this.observed.set(t, results.get(t) as R);
    if (probe.kind === 'search') {
      const mid = (this.lo + this.hi) >> 1;
      this.narrow(mid, this.init.passes(results.get(probe.taps[0]) as R));
      this.advance();
    } else {
      this.certified(probe.culprit, results, probe.suspect === true);
    }
  }

  private narrow(mid: number, pass: boolean): void {
    if (pass) this.lo = mid + 1;
    else this.hi = mid;
  }

  private advance(): void {
    while (this.lo < this.hi) {
      const mid = (this.lo + this.hi) >> 1;
      const known = this.observed.get(this.list[mid]);
      if (known === undefined) {
        if (this.budgetSpent()) {
          const unmeasured = this.list.slice(this.lo, this.hi).filter((t) => !this.observed.has(t));
          this.finish(this.list[this.hi], this.observed.get(this.list[this.hi]) as R, [], 'budget', unmeasured);
          return;
        }
        this.pending = { kind: 'search', taps: [this.list[mid]] };
        return;
      }
      this.narrow(mid, this.init.passes(known));
    }
    const culprit = this.list[this.hi];
    const inputs = this.inputsOf(culprit);
    if (inputs.length === 0) {
      this.finish(culprit, this.observed.get(culprit) as R, [], 'inputs-identical');
      return;
    }
    if (this.budgetSpent()) {
      this.finish(culprit, this.observed.get(culprit) as R, [], 'budget');
      return;
    }
    this.pending = { kind: 'certificate', culprit, taps: [...inputs, culprit] };
  }

  private budgetSpent(): boolean {
    return this.init.maxProbes !== undefined && this.probes.length >= this.init.maxProbes;
  }

  private certified(culprit: string, results: ReadonlyMap<string, R>, suspect: boolean): void {
    const inputs = this.inputsOf(culprit).map((tensor) => {
      const result = results.get(tensor) as R;
      return { tensor, result, pass: this.init.passes(result) };
    });
    const failing = inputs.filter((i) => !i.pass);
    const culpritResult = results.get(culprit) as R;
    const culpritPasses = this.init.passes(culpritResult);
    if (suspect && culpritPasses && failing.length === 0) {
      // The suspect is cleared: search the whole order, knowing it (and its inputs) pass.
      this.startSearch(this.init.candidates.map((c) => c.tensor));
      return;
    }
    if (failing.length === 0) {
      this.finish(culprit, culpritResult, inputs, culpritPasses ? 'culprit-passed' : 'inputs-pass');
      return;
    }
    // An input already fails: search again among its ancestors, it last. After a real search
    // (not a suspect's check) that means the error was not monotone along the order.
    if (!suspect) this.monotone = false;
    const earliest = failing.reduce((a, b) => ((this.order.get(a.tensor) ?? 0) <= (this.order.get(b.tensor) ?? 0) ? a : b));
    this.startSearch(this.ancestorsOf(earliest.tensor));
  }

  /**
   * Searches a list whose last tensor fails. Known results narrow the interval first: the
   * earliest known failure bounds it above, the latest known pass before that bounds it below.
   */
  private startSearch(list: string[]): void {
    this.list = list;
    const verdict = (i: number): boolean | undefined => {
      const r = this.observed.get(list[i]);
      return r === undefined ? undefined : this.init.passes(r);
    };
    this.hi = list.length - 1;
    for (let i = 0; i < this.hi; i++)
      if (verdict(i) === false) {
        this.hi = i;
        break;
      }
    this.lo = 0;
    for (let i = this.hi - 1; i >= 0; i--)
      if (verdict(i) === true) {
        this.lo = i + 1;
        break;
      }
    this.advance();
  }

  private inputsOf(tensor: string): string[] {
    return [...new Set(this.byTensor.get(tensor)?.inputs ?? [])].filter((t) => this.byTensor.has(t));
  }

  /** The candidates the tensor depends on, and the tensor itself, in candidate order. */
  private ancestorsOf(tensor: string): string[] {
    const seen = new Set<string>([tensor]);
    const stack = [tensor];
    while (stack.length > 0) {
      for (const i of this.inputsOf(stack.pop() as string)) {
        if (!seen.has(i)) {
          seen.add(i);
          stack.push(i);
        }
      }
    }
    return this.init.candidates.map((c) => c.tensor).filter((t) => seen.has(t));
  }

  private finish(
    culprit: string,
    culpritResult: R,
    inputs: BisectOutcome<R>['inputs'],
    certificate: Certificate,
    uncertain: readonly string[] = [],
  ): void {
    this.outcome = { culprit, culpritResult, inputs, certificate, monotone: this.monotone, probes: this.probes, uncertain };
  }
}

/** ⌈log2 N⌉ + 2: the quant runs a bisect over N candidates may take (the run with no taps, the probes, the certificate). */
export function bisectRunBudget(candidates: number): number {
  return Math.ceil(Math.log2(Math.max(1, candidates))) + 2;
}

export interface CandidateOptions {
  /** Whether the tensor holds floats (int tensors, shapes and masks cannot be compared). */
  readonly isFloat: (tensor: string) => boolean;
  /** Whether the node changes values in the quantized model (runs quantized or in fp16). */
  readonly alters: (node: GraphNode) => boolean;
}

/**
 * The bisect candidates for a graph output: the float tensors it depends on (itself included)
 * that can differ from the reference, in topological order. A tensor can differ when its
 * producer alters values or reads a float tensor that can differ; graph inputs, integer tensors
 * and tensors computed by fp32 float ops from such values are identical by construction. Each
 * candidate's `inputs` are its producer's inputs that are candidates.
 */
export function bisectCandidates(graph: Graph, output: string, options: CandidateOptions): BisectCandidate[] {
  const differs = new Set<string>();
  for (const node of graph.nodes) {
    const changed = options.alters(node) || node.inputs.some((t) => differs.has(t));
    if (!changed) continue;
    for (const t of node.outputs) if (t !== '' && options.isFloat(t)) differs.add(t);
  }
  const needed = new Set<string>();
  const stack = [output];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (needed.has(t)) continue;
    needed.add(t);
    for (const i of graph.producer.get(t)?.inputs ?? []) if (i !== '') stack.push(i);
  }
  const out: BisectCandidate[] = [];
  for (const node of graph.nodes) {
    for (const t of node.outputs) {
      if (t === '' || !needed.has(t) || !differs.has(t)) continue;
      out.push({ tensor: t, inputs: [...new Set(node.inputs.filter((i) => differs.has(i)))] });
    }
  }
  return out;
}
