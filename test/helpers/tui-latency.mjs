#!/usr/bin/env node
// Measures the TUI's responsiveness on the built CLI (run `npx tsc -p tsconfig.json` first):
//   node test/helpers/tui-latency.mjs
// 1. first frame: from starting `quantscope tui fixtures/wide-1000.onnx` in tmux (80x24) to the
//    graph on screen; and, in-process, from a loaded session to ink's first write;
// 2. keypress latency while a comparison runs on udnie (../shared), with the job worker and with
//    --no-worker: a key moves the cursor, the time until the screen shows it.
// Results are printed as JSON lines. Needs tmux; part 2 needs ../shared.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'dist', 'cli', 'main.js');
const SOCKET = `qs-latency-${process.pid}`;
const tmux = (...args) => {
  // A fresh tmux server sometimes exits while starting; the next try works.
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
    if (r.status === 0 || args[0] !== 'new-session' || attempt === 2) return r;
  }
};
const screen = (name) => tmux('capture-pane', '-p', '-t', name).stdout;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: +s[0].toFixed(1), median: +q(0.5).toFixed(1), p90: +q(0.9).toFixed(1), max: +s[s.length - 1].toFixed(1) };
};

async function waitScreen(name, re, timeoutMs) {
  const start = performance.now();
  for (;;) {
    const text = screen(name);
    if (re.test(text)) return { text, ms: performance.now() - start };
    if (performance.now() - start > timeoutMs) throw new Error(`timeout waiting for ${re}:\n${text}`);
    await sleep(2);
  }
}

async function firstFrame() {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const name = `ff${i}`;
    const start = performance.now();
    const r = tmux(
      'new-session',
      '-d',
      '-s',
      name,
      '-x',
      '80',
      '-y',
      '24',
      `cd '${REPO}' && env -u CI '${process.execPath}' '${CLI}' tui fixtures/wide-1000.onnx; sleep 5`,
    );
    if (r.status !== 0) throw new Error(`tmux: ${r.stderr}`);
    await waitScreen(name, /1000 of 1000/, 20_000);
    times.push(performance.now() - start);
    tmux('kill-session', '-t', name);
  }
  console.log(JSON.stringify({ measure: 'process start to first frame, wide-1000, tmux 80x24 (ms)', ...stats(times) }));

  // In-process: opening the session (read, shape inference, inputs) and rendering the first frame.
  const { openSession } = await import(join(REPO, 'dist', 'app', 'session.js'));
  const { App } = await import(join(REPO, 'dist', 'ui', 'components', 'App.js'));
  const { render } = await import('ink');
  const React = await import('react');
  const opens = [];
  const renders = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const session = await openSession({ model: { modelPath: join(REPO, 'fixtures', 'wide-1000.onnx') }, quant: {} });
    const t1 = performance.now();
    const stdout = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: true });
    let firstWrite = 0;
    stdout.on('data', () => {
      if (!firstWrite) firstWrite = performance.now();
    });
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode() {}, ref() {}, unref() {} });
    const runner = { run: () => Promise.reject(new Error('none')), dispose: async () => {} };
    const app = render(React.createElement(App, { session, runner }), { stdout, stdin, exitOnCtrlC: false, patchConsole: false });
    while (!firstWrite) await sleep(1);
    opens.push(t1 - t0);
    renders.push(firstWrite - t1);
    app.unmount();
  }
  console.log(JSON.stringify({ measure: 'openSession of wide-1000 in-process (ms)', ...stats(opens) }));
  console.log(JSON.stringify({ measure: 'loaded session to first frame written, wide-1000 (ms)', ...stats(renders) }));
}

function cursorRow(text) {
  const line = text.split('\n').find((l) => l.startsWith('›'));
  return line ? Number(/^›.\s*(\d+)/.exec(line)?.[1]) : -1;
}

/** Sends a key that moves the cursor and returns the ms until the screen shows the move. */
async function keypress(name, key, stillValid) {
  const before = cursorRow(screen(name));
  const t0 = performance.now();
  tmux('send-keys', '-t', name, key);
  for (;;) {
    const text = screen(name);
    if (cursorRow(text) !== before || !stillValid(text) || performance.now() - t0 > 60_000) break;
    await sleep(1);
  }
  const ms = performance.now() - t0;
  await sleep(50);
  return ms;
}

async function keypressDuringRun(worker) {
  const name = worker ? 'kw' : 'kn';
  const cache = mkdtempSync(join(tmpdir(), 'qs-latency-cache-'));
  const args = `tui ../shared/models/udnie.onnx --input inputImage=../shared/images/fish_720.png --calib ../shared/images/cat.jpg --preprocess size=720x720${worker ? '' : ' --no-worker'}`;
  tmux(
    'new-session',
    '-d',
    '-s',
    name,
    '-x',
    '80',
    '-y',
    '24',
    `cd '${REPO}' && env -u CI QUANTSCOPE_CACHE='${cache}' '${process.execPath}' '${CLI}' ${args}; sleep 5`,
  );
  await waitScreen(name, /graph · idle/, 20_000);
  // The same measurement with nothing running: what tmux and the polling add.
  const idle = [];
  for (let i = 0; i < 20; i++) idle.push(await keypress(name, i % 2 === 0 ? 'j' : 'k', () => true));
  console.log(JSON.stringify({ measure: `keypress to screen, idle, ${worker ? 'job worker' : '--no-worker'} (ms)`, ...stats(idle) }));
  // Every node tapped: 59 tensors of up to 10M elements each, so metric loops dominate the run.
  tmux('send-keys', '-t', name, 'a');
  await waitScreen(name, /59 taps/, 5_000);
  tmux('send-keys', '-t', name, 'r');
  await waitScreen(name, /compare…/, 5_000);
  const latencies = [];
  let down = true;
  const runStart = performance.now();
  while (/compare…/.test(screen(name)) && performance.now() - runStart < 300_000) {
    latencies.push(await keypress(name, down ? 'j' : 'k', (text) => /compare…/.test(text)));
    down = !down;
    await sleep(150 + Math.random() * 100);
  }
  const runMs = performance.now() - runStart;
  tmux('kill-session', '-t', name);
  console.log(
    JSON.stringify({
      measure: `keypress to screen during a full udnie compare, ${worker ? 'job worker' : '--no-worker'} (ms)`,
      runSeconds: +(runMs / 1000).toFixed(1),
      ...stats(latencies),
    }),
  );
}

try {
  await firstFrame();
  if (existsSync(join(REPO, '..', 'shared', 'models', 'udnie.onnx'))) {
    await keypressDuringRun(true);
    await keypressDuringRun(false);
  } else {
    console.log('skipping the keypress measurement: ../shared/models/udnie.onnx is absent');
  }
} finally {
  tmux('kill-server');
}
