import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import Table from 'cli-table3';
import { inspect, type InspectResult } from '../../app/inspect.js';
import { displayName } from '../../core/closest.js';
import { formatDims } from '../../core/tensor.js';
import { print, printJson } from '../output.js';

interface InspectArgs {
  model: string;
  ops?: string;
  json: boolean;
}

export const inspectCommand: CliCommand<InspectArgs> = {
  command: 'inspect <model>',
  describe: "List a model's real inputs, outputs and nodes in topological order",
  builder: (y: Argv) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('ops', { type: 'string', describe: 'Only nodes of these op types (comma-separated)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }) as unknown as Argv<InspectArgs>,
  handler: (args: ArgumentsCamelCase<InspectArgs>) => {
    const ops = args.ops
      ? args.ops
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    const result = inspect({ modelPath: args.model, ops });
    if (args.json) {
      printJson({
        inputs: result.inputs,
        outputs: result.outputs,
        nodes: result.nodes,
        model: result.model,
        irVersion: result.irVersion,
        opsets: result.opsets,
        initializerCount: result.initializerCount,
      });
    } else {
      print(formatInspect(result, { whole: process.stdout.isTTY !== true }));
    }
  },
};

/**
 * The model as text: a header, the inputs and outputs, the nodes, the op counts. On a terminal,
 * names longer than their column's cap are cut with their length, `…(57 chars)`; `whole` (stdout
 * is not a terminal) shows every name whole up to 4,096 characters, the cap of a hostile name.
 */
export function formatInspect(result: InspectResult, options: { whole?: boolean } = {}): string {
  const cap = (n: number): number => (options.whole ? 4096 : n);
  const lines: string[] = [];
  // Everything below comes from the model file: names, op types, domains and the producer are shown escaped.
  const opsets = Object.entries(result.opsets)
    .map(([d, v]) => `${displayName(d || 'ai.onnx', 60)} ${v}`)
    .join(', ');
  lines.push(
    `${displayName(result.model, 400)}: IR ${result.irVersion}, opset ${opsets}, ${result.nodeCount} nodes, ${result.initializerCount} initializers${result.producer ? `, produced by ${displayName(result.producer, 120)}` : ''}`,
  );
  const io = new Table({ head: ['', 'name', 'shape', 'dtype'], style: { head: [], border: [] } });
  for (const i of result.inputs) io.push(['input', displayName(i.name, cap(60)), formatDims(i.shape ?? undefined), i.dtype ?? '?']);
  for (const o of result.outputs) io.push(['output', displayName(o.name, cap(60)), formatDims(o.shape ?? undefined), o.dtype ?? '?']);
  lines.push(io.toString());
  const table = new Table({ head: ['#', 'op type', 'node', 'inputs', 'outputs', 'output shape'], style: { head: [], border: [] } });
  for (const n of result.nodes) {
    table.push([
      String(n.index),
      displayName(n.opType, cap(40)),
      displayName(n.name, cap(40)),
      n.inputs.map((t) => displayName(t, cap(30))).join('\n'),
      n.outputs.map((t) => displayName(t, cap(30))).join('\n'),
      n.outputShape ? formatDims(n.outputShape) : '',
    ]);
  }
  lines.push(table.toString());
  lines.push(
    `ops: ${Object.entries(result.opCounts)
      .map(([k, v]) => `${v} ${displayName(k, cap(40))}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}
