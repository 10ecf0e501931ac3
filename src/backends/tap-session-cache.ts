import type { OrtSession } from './session.js';

/**
 * Keeps the session whose extra graph outputs are the last tap set asked for, and rebuilds it
 * when a run asks for another set. Each session outputs exactly the asked taps: onnxruntime holds
 * every graph output until a run returns, fetched or not, so a session with more outputs than a
 * run needs costs memory.
 */
export class TapSessionCache {
  private current: { session: OrtSession; key: string } | null = null;

  constructor(
    private readonly graphOutputs: readonly string[],
    private readonly build: (taps: readonly string[]) => Promise<OrtSession>,
  ) {}

  async sessionFor(taps: readonly string[]): Promise<{ session: OrtSession; fetches: string[] }> {
    const fetches = [...new Set([...this.graphOutputs, ...taps])];
    const key = JSON.stringify([...new Set(taps)].sort());
    if (this.current?.key !== key) {
      await this.dispose();
      const session = await this.build([...new Set(taps)]);
      this.current = { session, key };
    }
    return { session: (this.current as { session: OrtSession }).session, fetches };
  }

  async dispose(): Promise<void> {
    const old = this.current;
    this.current = null;
    if (old) await old.session.dispose();
  }
}
