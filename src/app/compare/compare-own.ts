import { QuantBackend } from '../../backends/quant.js';
import type { Tensor } from '../../core/tensor.js';
import { rangeFromTable } from '../../quant/calibration-table.js';
import { buildShadowModel, type OwnSource } from '../../quant/shadow.js';
import type { ModelContext } from '../context.js';
import type { QuantSetup } from '../quant-setup.js';
import { quantSource } from '../quantize.js';

export interface OwnOutputs {
  /** How each tensor's own output was obtained. */
  readonly sources: ReadonlyMap<string, OwnSource>;
  /** The own outputs of the tensors whose source is 'shadow'. */
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly notes: readonly string[];
}

/**
 * The own outputs of some tapped tensors: one run of a shadow graph holding the float model and
 * a clone of each of their kernels (quant/shadow.ts). `taps` are all the run's taps, which split
 * fusion groups as in the compared QDQ model; only `tensors` (one memory group) get clones, so the
 * shadow model's outputs are that group's own outputs alone. Runs on onnxruntime's CPU provider
 * with onnxruntime's default options, as the quant backend.
 */
export async function ownOutputs(
  ctx: ModelContext,
  quant: QuantSetup,
  taps: ReadonlySet<string>,
  tensors: readonly string[],
  feeds: ReadonlyMap<string, Tensor>,
): Promise<OwnOutputs> {
  const source = quantSource(ctx);
  const shadow = buildShadowModel({
    model: source.model,
    graph: source.graph,
    plan: quant.plan,
    range: (t, bits) => rangeFromTable(quant.calibration, t, bits),
    taps,
    values: source.values,
    tensors,
    prune: true,
  });
  const wanted = new Map<string, string>();
  for (const [t, s] of shadow.own) if (s.kind === 'shadow') wanted.set(t, s.tensor);
  if (wanted.size === 0) return { sources: shadow.own, tensors: new Map(), notes: shadow.notes };
  const backend = await QuantBackend.create({
    build: () => shadow.model,
    graphOutputs: [],
    label: `the own-error shadow graph of '${ctx.loaded.path}'`,
  });
  try {
    const out = await backend.run(feeds, [...wanted.values()]);
    const tensorsOut = new Map<string, Tensor>();
    for (const [t, shadowName] of wanted) {
      const value = out.get(shadowName);
      if (value) tensorsOut.set(t, value);
    }
    return { sources: shadow.own, tensors: tensorsOut, notes: shadow.notes };
  } finally {
    await backend.dispose();
  }
}
