import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { messageOf } from '../core/errors.js';
import type { FromOrt, ToOrt, WireTensor } from './ort-wire.js';

/**
 * The onnxruntime thread (see ort-remote.ts). onnxruntime-node runs a model synchronously on the
 * thread that calls it, so every session lives here and the main thread stays free to answer a
 * signal or a key while a model runs. One message at a time, in order: create a session, run it,
 * release it.
 */
const port = parentPort;
if (!port) throw new Error('ort-worker.js runs only as a worker thread');

const sessions = new Map<number, ort.InferenceSession>();

function toOrt(t: WireTensor): ort.Tensor {
  if (t.type === 'string') return new ort.Tensor('string', t.data as string[], t.dims);
  return new ort.Tensor(t.type as Exclude<ort.Tensor.Type, 'string'>, t.data as Exclude<ort.Tensor.DataType, string[]>, t.dims);
}

/** A tensor's data as its own buffer, so it can be transferred back without a second copy. */
function fromOrt(t: ort.Tensor): { tensor: WireTensor; transfer: ArrayBuffer[] } {
  const data = t.data;
  if (Array.isArray(data)) return { tensor: { type: t.type, dims: [...t.dims].map(Number), data }, transfer: [] };
  const view = data as unknown as { buffer: ArrayBufferLike; byteOffset: number; byteLength: number; slice: () => typeof data };
  // The binding's arrays may view native memory or share a buffer: copy into a buffer of our own.
  const own =
    view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer
      ? data
      : (view.slice() as typeof data);
  return {
    tensor: { type: t.type, dims: [...t.dims].map(Number), data: own as WireTensor['data'] },
    transfer: [(own as unknown as { buffer: ArrayBuffer }).buffer],
  };
}

async function handle(message: ToOrt): Promise<void> {
  const reply = (m: FromOrt, transfer: ArrayBuffer[] = []): void => port?.postMessage(m, transfer);
  try {
    switch (message.type) {
      case 'create': {
        // null: onnxruntime's defaults, with no options object at all (what a user's plain create gets).
        const session =
          message.options === null
            ? await ort.InferenceSession.create(message.bytes)
            : await ort.InferenceSession.create(message.bytes, message.options);
        sessions.set(message.session, session);
        reply({
          type: 'created',
          id: message.id,
          inputNames: [...session.inputNames],
          outputNames: [...session.outputNames],
          outputs: session.outputMetadata.map((m) => ({ isTensor: m.isTensor, type: m.isTensor ? String(m.type) : '' })),
        });
        return;
      }
      case 'run': {
        const session = sessions.get(message.session);
        if (!session) throw new Error(`no session ${message.session} on the onnxruntime thread`);
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(message.feeds)) feeds[name] = toOrt(t);
        const results = message.fetches ? await session.run(feeds, message.fetches) : await session.run(feeds);
        const outputs: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, value] of Object.entries(results)) {
          const out = fromOrt(value as ort.Tensor);
          outputs[name] = out.tensor;
          transfer.push(...out.transfer);
        }
        reply({ type: 'ran', id: message.id, outputs }, [...new Set(transfer)]);
        return;
      }
      case 'time': {
        const session = sessions.get(message.session);
        if (!session) throw new Error(`no session ${message.session} on the onnxruntime thread`);
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(message.feeds)) feeds[name] = toOrt(t);
        const ms: number[] = [];
        for (let i = 0; i < message.warmup + message.repeat; i++) {
          const start = performance.now();
          const results = await session.run(feeds);
          const took = performance.now() - start;
          for (const value of Object.values(results)) (value as ort.Tensor).dispose?.();
          if (i >= message.warmup) ms.push(took);
        }
        reply({ type: 'timed', id: message.id, ms });
        return;
      }
      case 'endProfiling': {
        const session = sessions.get(message.session);
        if (!session) throw new Error(`no session ${message.session} on the onnxruntime thread`);
        session.endProfiling();
        reply({ type: 'profiled', id: message.id });
        return;
      }
      case 'quit':
        // Between native calls, so the thread can end without cutting one short.
        process.exit(0);
        return;
      case 'release': {
        const session = sessions.get(message.session);
        sessions.delete(message.session);
        await session?.release();
        reply({ type: 'released', id: message.id });
        return;
      }
    }
  } catch (error) {
    reply({ type: 'failed', id: message.id, message: messageOf(error) });
  }
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToOrt) => {
  queue = queue.then(() => handle(message));
});
