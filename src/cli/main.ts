#!/usr/bin/env node
import { ortThreadBusy } from '../backends/ort-remote.js';
import { ExitCode } from '../core/errors.js';
import { runCli } from './cli.js';
import { endNow } from './signals.js';

// `quantscope inspect model.onnx | head` closes stdout early: stop quietly, as Unix tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const code = await runCli(process.argv.slice(2));
// Stopped by a signal while onnxruntime still finishes an abandoned call: end by that signal now
// (cli/signals.ts) rather than wait for the call; the files are written and the message printed.
if ((code === ExitCode.interrupted || code === ExitCode.terminated) && ortThreadBusy()) {
  endNow(code === ExitCode.terminated ? 'SIGTERM' : 'SIGINT', code);
}
process.exitCode = code;
