import type { Tensor } from '../core/tensor.js';

/**
 * What every backend does: run the model on feeds and return the tapped tensors by name.
 * Tap names are the float model's tensor names, so results of different backends line up.
 */
export interface Backend {
  readonly kind: 'float' | 'quant' | 'dumps';
  /** Runs once. `taps` are tensor names; the graph outputs are always returned too. */
  run(feeds: ReadonlyMap<string, Tensor>, taps: readonly string[]): Promise<Map<string, Tensor>>;
  dispose(): Promise<void>;
}
