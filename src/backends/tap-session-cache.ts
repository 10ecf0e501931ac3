import type { OrtSession } from './session.js';

/**
 * Keeps one session whose graph outputs are a set of taps, and rebuilds it only when a run asks
 * for a tap it lacks. Fetching a subset of outputs lets onnxruntime free the rest early.
 */
export class TapSessionCache {
  private current: { session: OrtSession; taps: Set<string> } | null = null;

  constructor(
    private readonly graphOutputs: readonly string[],
    private readonly build: (taps: readonly string[]) => Promise<OrtSession>,
  ) {}

  async sessionFor(taps: readonly string[], exact: boolean): Promise<{ session: OrtSession; fetches: string[] }> {
    const fetches = [...new Set([...this.graphOutputs, ...taps])];
    const fits = this.current && fetches.every((t) => this.current?.taps.has(t));
    if (!fits || (exact && this.current && this.current.taps.size !== new Set([...this.graphOutputs, ...taps]).size)) {
      await this.dispose();
      const session = await this.build(taps);
      this.current = { session, taps: new Set(fetches) };
    }
    return { session: (this.current as { session: OrtSession }).session, fetches };
  }

  async dispose(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await old.session.dispose();
  }
}
