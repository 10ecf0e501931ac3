/**
 * The messages between the main thread and the onnxruntime thread (ort-remote.ts, ort-worker.ts).
 * Tensors cross as their onnxruntime type string, dims and data; outputs come back transferred.
 */

export interface WireTensor {
  readonly type: string;
  readonly dims: number[];
  readonly data: ArrayBufferView | string[];
}

/** The session options that cross the thread boundary (onnxruntime's InferenceSession.SessionOptions, plain data). */
export type WireSessionOptions = Record<string, unknown>;

export type ToOrt =
  | {
      readonly type: 'create';
      readonly id: number;
      readonly session: number;
      readonly bytes: Uint8Array;
      readonly options: WireSessionOptions | null;
    }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly session: number;
      readonly feeds: Record<string, WireTensor>;
      readonly fetches: string[] | null;
    }
  | { readonly type: 'release'; readonly id: number; readonly session: number }
  /** Runs `warmup` then `repeat` times on the thread, timing each of the `repeat` runs (outputs dropped). */
  | {
      readonly type: 'time';
      readonly id: number;
      readonly session: number;
      readonly feeds: Record<string, WireTensor>;
      readonly warmup: number;
      readonly repeat: number;
    }
  /** Ends onnxruntime's profiling of a session created with enableProfiling: it writes its trace file. */
  | { readonly type: 'endProfiling'; readonly id: number; readonly session: number }
  /** End the thread once the messages before this one are done (a retired thread's last message). */
  | { readonly type: 'quit'; readonly id: number };

export type FromOrt =
  | {
      readonly type: 'created';
      readonly id: number;
      readonly inputNames: string[];
      readonly outputNames: string[];
      readonly outputs: { readonly isTensor: boolean; readonly type: string }[];
    }
  | { readonly type: 'ran'; readonly id: number; readonly outputs: Record<string, WireTensor> }
  | { readonly type: 'released'; readonly id: number }
  | { readonly type: 'timed'; readonly id: number; readonly ms: number[] }
  | { readonly type: 'profiled'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
