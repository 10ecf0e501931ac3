import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { CliCommand } from '../command.js';
import type { ComparisonReport } from '../../analysis/comparison.js';
import { compareTaps } from '../../app/compare/compare.js';
import { compareOverEvaluation } from '../../app/compare/compare-eval.js';
import { evaluationContexts } from '../../app/evaluation.js';
import { planMemoryUse } from '../../app/memory-plan.js';
import { compareDumps } from '../../app/compare/compare-dumps.js';
import { compareModels } from '../../app/compare/compare-models.js';
import { openModel } from '../../app/context.js';
import { setUpQuant } from '../../app/quant-setup.js';
import { ExitCode, UserError } from '../../core/errors.js';
import { formatCsv, formatMarkdown, formatTable } from '../../present/report-format.js';
import { formatJson } from '../../store/report-json.js';
import {
  maxMemoryOf,
  modelInputOptions,
  quantSetupOptions,
  quantSetupWithEval,
  withEvalOption,
  withModelOptions,
  withOutputOptions,
  withQuantOptions,
  type EvalArgs,
  type ModelArgs,
  type OutputArgs,
  type QuantArgs,
} from '../options.js';
import { print, progressPrinter, reportWritten } from '../output.js';
import { cancelOnSignals } from '../signals.js';

type Format = 'table' | 'json' | 'csv' | 'md';

interface CompareArgs extends Omit<ModelArgs, 'model'>, QuantArgs, OutputArgs, EvalArgs {
  model?: string;
  testModel?: string;
  'test-model'?: string;
  'ref-backend'?: 'float' | 'quant';
  'test-backend'?: 'float' | 'quant';
  taps?: string[];
  out?: string;
  ref?: string;
  test?: string;
  map?: string;
  metric?: string;
  threshold?: number;
  peak?: number;
  'fail-under': boolean;
  format?: Format;
  plot?: string;
  own: boolean;
  achievable: boolean;
}

/** Options that only make sense when the model is run, refused with --ref/--test. */
const RUN_ONLY = [
  'input',
  'eval',
  'shape',
  'preprocess',
  'seed',
  'profile',
  'plan',
  'precision',
  'calib',
  'calibration',
  'method',
  'percentile',
  'max-memory',
] as const;

export const compareCommand: CliCommand<CompareArgs> = {
  command: 'compare [model] [testModel]',
  describe: 'Compare every tap of the float and quantized backends (or two models, or two dump directories), with own vs accumulated error',
  builder: (y: Argv) =>
    withOutputOptions(withQuantOptions(withEvalOption(withModelOptions(y))))
      .positional('model', {
        type: 'string',
        demandOption: false,
        describe: 'ONNX model file (optional with --ref/--test: names, op types and order)',
      })
      .positional('testModel', {
        type: 'string',
        demandOption: false,
        describe: 'A second ONNX model to compare the first against (a rewrite, or a quantized QDQ/QOperator model made elsewhere)',
      })
      .option('ref-backend', {
        type: 'string',
        choices: ['float', 'quant'],
        describe: "Model against model: run the first model as it is (float) or through quantscope's quantized backend (quant)",
        group: 'Model against model:',
      })
      .option('test-backend', {
        type: 'string',
        choices: ['float', 'quant'],
        describe: 'Model against model: the same for the model under test',
        group: 'Model against model:',
      })
      .option('test-model', {
        type: 'string',
        describe: 'The model under test, as the second positional: run as it is on the same inputs, tensors paired with the first model',
        group: 'Model against model:',
      })
      .option('taps', {
        alias: 't',
        type: 'string',
        array: true,
        describe: 'Tensors to compare: names, globs, op:Type, re:..., @all, @outputs, @hotspots (default @all; outputs always)',
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'Run directory for the tensors, manifest and report.json (with --ref/--test: report.json only)',
      })
      .option('ref', {
        type: 'string',
        describe: 'Reference dump directory (.npy, .pb, .bin, .txt, a quantscope run, Ascend-style names)',
        group: 'Dump directories:',
      })
      .option('test', { type: 'string', describe: 'Dump directory under test, e.g. from a device', group: 'Dump directories:' })
      .option('map', {
        type: 'string',
        describe:
          'JSON map from tensor names to files ({"file", "dtype", "shape"} for raw .bin); with two models, from reference to test tensor names',
        group: 'Dump directories:',
      })
      .option('metric', {
        type: 'string',
        describe:
          'Metric of the pass/fail threshold (default: snrDb >= 30, every output also psnrDb >= 40; or cosine, psnrDb, mse, relL2, worstChannelCosine, ...)',
        group: 'Report:',
      })
      .option('threshold', { type: 'number', describe: 'Threshold of --metric (default snrDb 30, cosine 0.99)', group: 'Report:' })
      .option('peak', {
        type: 'number',
        describe: "Peak of the outputs' PSNR (e.g. 255 for 8-bit images; default max |x| of each float output)",
        group: 'Report:',
      })
      .option('fail-under', { type: 'boolean', default: false, describe: 'Exit 1 when an output fails the threshold', group: 'Report:' })
      .option('format', {
        type: 'string',
        choices: ['table', 'json', 'csv', 'md'],
        describe: 'Report format on stdout (default table; json with --json)',
        group: 'Report:',
      })
      .option('plot', {
        type: 'string',
        describe: 'Write the metric-along-depth PNG here (and <plot>-<output>.png for image outputs)',
        group: 'Report:',
      })
      .option('own', {
        type: 'boolean',
        default: true,
        describe: 'Measure own error with the shadow graph (--no-own skips it)',
        group: 'Report:',
      })
      .option('achievable', {
        type: 'boolean',
        default: true,
        describe: 'Report what the INT16 plan reaches (--no-achievable skips the run)',
        group: 'Report:',
      }) as unknown as Argv<CompareArgs>,
  handler: async (args: ArgumentsCamelCase<CompareArgs>) => {
    const format: Format = args.format ?? (args.json ? 'json' : 'table');
    const onProgress = progressPrinter({ quiet: args.quiet || format !== 'table' });
    const { signal, release } = cancelOnSignals();
    try {
      let report: ComparisonReport;
      let gate: boolean;
      const written: string[] = [];
      if (args.ref !== undefined || args.test !== undefined) {
        if (args.ref === undefined || args.test === undefined)
          throw new UserError('Comparing dump directories needs both --ref DIR and --test DIR.');
        if (testModelOf(args) !== undefined)
          throw new UserError('Compare two models, or two dump directories (--ref, --test), not both at once.');
        const given = RUN_ONLY.filter((k) => (args as Record<string, unknown>)[k] !== undefined);
        if (given.length > 0)
          throw new UserError(`--${given[0]} runs the model; it has no effect when comparing the dump directories --ref and --test.`);
        const result = await compareDumps({
          refDir: args.ref,
          testDir: args.test,
          mapFile: args.map,
          modelPath: args.model,
          taps: args.taps,
          metric: args.metric,
          threshold: args.threshold,
          peak: args.peak,
          outDir: args.out,
          plot: args.plot,
          onProgress,
          signal,
        });
        ({ report, gatePasses: gate } = result);
        written.push(...(result.reportFile === null ? [] : [result.reportFile]), ...result.plots);
        if (result.nothingCompared !== null) {
          // The report still says why each row was not compared; the exit says the input was bad.
          reportWritten(written, { quiet: args.quiet });
          print(formatReport(report, format));
          throw new UserError(result.nothingCompared);
        }
      } else if (testModelOf(args) !== undefined) {
        const testModel = testModelOf(args) as string;
        if (args.model === undefined) throw new UserError('Name the reference model before the model under test.');
        const backends = { ref: args['ref-backend'] ?? 'float', test: args['test-backend'] ?? 'float' } as const;
        const quantized = backends.ref === 'quant' || backends.test === 'quant';
        const given = QUANT_ONLY.filter((k) => (args as Record<string, unknown>)[k] !== undefined && (k === 'eval' || !quantized));
        if (given.length > 0) {
          throw new UserError(
            given[0] === 'eval'
              ? '--eval is not available when comparing two models yet; compare on one --input at a time.'
              : `--${given[0]} sets up quantscope's own quantization; it has no effect when comparing two models as they are (give --ref-backend quant or --test-backend quant to use it).`,
          );
        }
        const ctx = await openModel(modelInputOptions({ ...args, model: args.model }, onProgress));
        const testCtx =
          backends.test === 'quant' ? await openModel(modelInputOptions({ ...args, model: testModel }, onProgress)) : undefined;
        const result = await compareModels({
          ctx,
          testModel,
          backends,
          testCtx,
          quantSetup: (c) => setUpQuant(c, quantSetupOptions(args), onProgress, signal),
          mapFile: args.map,
          taps: args.taps,
          metric: args.metric,
          threshold: args.threshold,
          peak: args.peak,
          maxMemory: maxMemoryOf(args),
          outDir: args.out,
          plot: args.plot,
          onProgress,
          signal,
        });
        for (const note of result.notes) onProgress({ type: 'log', level: 'info', message: note });
        ({ report, gatePasses: gate } = result);
        written.push(...(result.reportFile === null ? [] : [result.reportFile]), ...result.plots);
      } else {
        if (args.model === undefined)
          throw new UserError(
            'Name a model to compare its float and quantized runs, or give --ref DIR --test DIR to compare dump directories.',
          );
        if (args.map !== undefined) throw new UserError('--map applies to dump directories; give it with --ref and --test.');
        const ctx = await openModel(modelInputOptions({ ...args, model: args.model }, onProgress));
        const evaluation = await evaluationContexts(ctx, args.eval);
        // The selection and the memory rule, before a long calibration.
        for (const c of [ctx, ...evaluation]) planMemoryUse(c, 'compare', maxMemoryOf(args), compareTaps(c, args.taps));
        const quant = await setUpQuant(ctx, quantSetupWithEval(args), onProgress, signal);
        const result = await compareOverEvaluation({
          ctx,
          evaluation,
          quant,
          taps: args.taps,
          metric: args.metric,
          threshold: args.threshold,
          peak: args.peak,
          maxMemory: maxMemoryOf(args),
          outDir: args.out,
          plot: args.plot,
          own: args.own,
          achievable: args.achievable,
          onProgress,
          signal,
        });
        for (const note of result.notes) onProgress({ type: 'log', level: 'warn', message: note });
        ({ report, gatePasses: gate } = result);
        written.push(...(result.outDir === null ? [] : [runDirectoryText(result.outDir, evaluation.length)]), ...result.plots);
      }
      // On stderr even with --json or --format: the report on stdout does not name its files.
      reportWritten(written, { quiet: args.quiet });
      print(formatReport(report, format));
      if (args['fail-under'] && !gate) return ExitCode.qualityGate;
    } finally {
      release();
    }
  },
};

/** The model under test: `--test-model` or the second positional (not both, unless they agree). */
function testModelOf(args: CompareArgs): string | undefined {
  const flag = args['test-model'];
  if (flag !== undefined && args.testModel !== undefined && flag !== args.testModel) {
    throw new UserError('Give the model under test once: as the second model or with --test-model, not both.');
  }
  return flag ?? args.testModel;
}

/** Options of quantscope's own quantization, refused when two models are compared as they are. */
const QUANT_ONLY = ['profile', 'plan', 'precision', 'calib', 'calibration', 'method', 'percentile', 'eval'] as const;

/** A run directory as `wrote` names it, with what it holds: one run, or one per evaluation input. */
function runDirectoryText(dir: string, inputs: number): string {
  return `${dir} (${inputs > 1 ? `input-1/ to input-${inputs}/, ` : 'manifest.json, float/, quant/, '}report.json)`;
}

function formatReport(report: ComparisonReport, format: Format): string {
  switch (format) {
    case 'json':
      return formatJson(report);
    case 'csv':
      return formatCsv(report);
    case 'md':
      return formatMarkdown(report);
    // A terminal's width is fitted; piped or redirected, every value is printed whole.
    case 'table':
      return formatTable(report, {
        color: process.stdout.isTTY === true,
        width: process.stdout.isTTY ? (process.stdout.columns ?? 80) : undefined,
      });
  }
}
