#!/usr/bin/env node
// Keypress latency of the TUI while a comparison runs, measured inside one process (no tmux):
// the real App renders into a fake 80x24 terminal, a real job runner runs `compare` of every
// tensor of udnie at 720x720 (../shared), and every ~200 ms a key moves the cursor; the latency
// is the time from writing the key to ink writing a frame with the cursor moved. Also reports
// the UI thread's event-loop delay during the run. Build first (`npx tsc -p tsconfig.json`).
//   node test/helpers/tui-keypress-latency.mjs [worker|in-process]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

process.env.NODE_ENV ??= 'production';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const mode = process.argv[2] ?? 'worker';
process.env.QUANTSCOPE_CACHE ??= mkdtempSync(join(tmpdir(), 'qs-keypress-cache-'));
const { openSession } = await import(join(REPO, 'dist', 'app', 'session.js'));
const { workerRunner } = await import(join(REPO, 'dist', 'app', 'worker-runner.js'));
const { inProcessRunner } = await import(join(REPO, 'dist', 'app', 'in-process-runner.js'));
const { App } = await import(join(REPO, 'dist', 'ui', 'components', 'App.js'));
const { render } = await import('ink');
const React = await import('react');

const shared = join(REPO, '..', 'shared');
const options = {
  model: {
    modelPath: join(shared, 'models', 'udnie.onnx'),
    inputs: [`inputImage=${join(shared, 'images', 'fish_720.png')}`],
    preprocess: 'size=720x720',
  },
  quant: { calib: [join(shared, 'images', 'cat.jpg')] },
};
const session = await openSession(options);
const runner = mode === 'worker' ? workerRunner(options) : inProcessRunner(session);

const stdout = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: true });
const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode() {}, ref() {}, unref() {} });
let frame = '';
const waiters = [];
stdout.on('data', (chunk) => {
  // Frames come between synchronized-output markers, written as chunks of their own.
  const text = chunk.toString().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  if (text.trim() !== '') frame = text;
  for (const w of waiters.splice(0)) w();
});
const nextWrite = () => new Promise((r) => waiters.push(r));
const cursorRow = () => Number(/^›.\s*(\d+)/m.exec(frame)?.[1] ?? -1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const app = render(React.createElement(App, { session, runner }), { stdout, stdin, exitOnCtrlC: false, patchConsole: false });
await sleep(500);

async function press(key, running) {
  const before = cursorRow();
  const t0 = performance.now();
  stdin.write(key);
  while (cursorRow() === before && (!running || /compare…/.test(frame))) await nextWrite();
  return performance.now() - t0;
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: +q(0.5).toFixed(1), p90: +q(0.9).toFixed(1), p99: +q(0.99).toFixed(1), max: +s[s.length - 1].toFixed(1) };
};

const idle = [];
for (let i = 0; i < 20; i++) {
  idle.push(await press(i % 2 ? 'k' : 'j', false));
  await sleep(100);
}
stdin.write('a');
await sleep(100);
stdin.write('r');
while (!/compare…/.test(frame)) await nextWrite();
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
const busy = [];
const start = performance.now();
for (let i = 0; /compare…/.test(frame); i++) {
  busy.push(await press(i % 2 ? 'k' : 'j', true));
  await sleep(150 + Math.random() * 100);
}
delay.disable();
const line = JSON.stringify({
  runner: mode,
  idle: stats(idle),
  duringRun: stats(busy),
  runSeconds: +((performance.now() - start) / 1000).toFixed(1),
  eventLoopDelayMs: {
    p50: +(delay.percentile(50) / 1e6).toFixed(1),
    p99: +(delay.percentile(99) / 1e6).toFixed(1),
    max: +(delay.max / 1e6).toFixed(1),
  },
});
app.unmount();
await runner.dispose();
// stdout may be a pipe (asynchronous): exit only once the line is out.
process.stdout.write(`${line}\n`, () => process.exit(0));
