import { compareTaps } from '../app/compare/compare.js';
import { floatBackendFor, openModel } from '../app/context.js';
import { quantBackendFor } from '../app/quantize.js';
import { setUpQuant } from '../app/quant-setup.js';
import type { Tensor } from '../core/tensor.js';
import { readEveryValue } from './compare-floor.js';

/**
 * The naive all-taps run that a memory-bounded compare is measured against, as a child process
 * whose peak RSS the benchmark reads: every tensor of the model made a graph output at once, one
 * float run and one quant run, both results held, every value read once. With `taps: 'none'` it
 * is the untapped baseline instead (the same two runs without taps). Run by the benchmark as
 * `node dist-tools/bench/naive-run.js '<json>'` with the NaiveRunArgs below; prints `{"bytes": N}`.
 */
export interface NaiveRunArgs {
  readonly modelPath: string;
  readonly inputs: readonly string[];
  readonly preprocess?: string;
  readonly calibrationFile: string;
  /** 'float': the float run alone; 'both': float and quant (default). */
  readonly backends?: 'float' | 'both';
  /** 'all' (default): every tensor a graph output; 'none': the plain model, the untapped baseline. */
  readonly taps?: 'all' | 'none';
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as NaiveRunArgs;
  const ctx = await openModel({ modelPath: args.modelPath, inputs: args.inputs, preprocess: args.preprocess });
  const quant = await setUpQuant(ctx, { calibrationFile: args.calibrationFile });
  const taps = (args.taps ?? 'all') === 'all' ? compareTaps(ctx, ['@all']) : [];
  const held: Map<string, Tensor>[] = [];
  const float = await floatBackendFor(ctx);
  try {
    held.push(await float.run(ctx.feeds, taps));
  } finally {
    await float.dispose();
  }
  if ((args.backends ?? 'both') === 'both') {
    const q = await quantBackendFor(ctx, quant.plan, quant.calibration);
    try {
      held.push(await q.run(ctx.feeds, taps));
    } finally {
      await q.dispose();
    }
  }
  let bytes = 0;
  for (const out of held) for (const t of out.values()) bytes += readEveryValue(t).bytes;
  process.stdout.write(`${JSON.stringify({ bytes })}\n`);
}

await main();
