import type { Argv } from 'yargs';
import { UserError } from '../core/errors.js';
import type { ModelInputOptions } from '../app/context.js';
import type { ProgressListener } from '../app/events.js';
import type { QuantSetupOptions } from '../app/quant-setup.js';
import { parseSize } from '../analysis/memory.js';
import { firstSampleInputs } from '../app/calibration-inputs.js';
import { isPrecision, type Override } from '../quant/plan.js';

/** Option groups shared by the commands that run a model; defined once, used by each command. */

export interface ModelArgs {
  model: string;
  input?: string[];
  shape?: string[];
  preprocess?: string;
  seed?: number;
}

export function withModelOptions<T>(y: Argv<T>): Argv<T & ModelArgs> {
  return y
    .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
    .option('input', {
      alias: 'i',
      type: 'string',
      array: true,
      describe: 'Model input: [NAME=]PATH (.npy, .pb, .bin:dtype[dims], .txt, .png, .jpg); synthetic when omitted',
      group: 'Inputs:',
    })
    .option('shape', { type: 'string', array: true, describe: 'Concrete shape of a dynamic input: NAME=1x3x224x224', group: 'Inputs:' })
    .option('preprocess', {
      type: 'string',
      describe: 'Image preprocessing: size=HxW,layout=NCHW|NHWC,order=RGB|BGR,scale=S,mean=a:b:c,std=a:b:c (or imagenet, unit)',
      group: 'Inputs:',
    })
    .option('seed', { type: 'number', describe: 'Seed of synthetic inputs', group: 'Inputs:' }) as unknown as Argv<T & ModelArgs>;
}

export function modelInputOptions(args: ModelArgs & EvalArgs & { calib?: string[] }, onProgress?: ProgressListener): ModelInputOptions {
  // With an evaluation set and no --input, the model is opened on the set's first input.
  const inputs = args.input ?? (args.eval && args.eval.length > 0 ? firstSampleInputs(args.eval, 'Evaluation') : undefined);
  // Otherwise a synthetic input takes dynamic dimensions from the first calibration sample.
  const shapeFrom = args.calib && args.calib.length > 0 ? firstSampleInputs(args.calib, 'Calibration') : undefined;
  return { modelPath: args.model, inputs, shapes: args.shape, preprocess: args.preprocess, seed: args.seed, shapeFrom, onProgress };
}

export interface QuantArgs {
  profile?: string;
  plan?: string;
  precision?: string[];
  calib?: string[];
  calibration?: string;
  method?: string;
  percentile?: number;
  'max-memory'?: string;
  maxMemory?: string;
}

export function withQuantOptions<T>(y: Argv<T>): Argv<T & QuantArgs> {
  return y
    .option('profile', { type: 'string', describe: 'Target profile: generic-int8, int8-fp16, or a JSON file', group: 'Quantization:' })
    .option('plan', { type: 'string', describe: 'Plan file with per-node precision overrides', group: 'Quantization:' })
    .option('precision', {
      type: 'string',
      array: true,
      describe: 'Override: SPEC=int8|int16|fp16|fp32 (SPEC: node name, glob, op:Type, re:...)',
      group: 'Quantization:',
    })
    .option('calib', {
      type: 'string',
      array: true,
      describe: 'Calibration inputs: files or folders ([NAME=]PATH); default: the evaluation inputs',
      group: 'Quantization:',
    })
    .option('calibration', { type: 'string', describe: 'A calibration table written by `quantscope calibrate`', group: 'Quantization:' })
    .option('method', {
      type: 'string',
      choices: ['minmax', 'percentile', 'entropy', 'mse'],
      describe: 'Calibration method (default percentile 99.99)',
      group: 'Quantization:',
    })
    .option('percentile', { type: 'number', describe: 'Percentile for --method percentile', group: 'Quantization:' })
    .option('max-memory', {
      type: 'string',
      describe: 'Memory budget for tapped tensors per run (e.g. 512MB)',
      group: 'Quantization:',
    }) as unknown as Argv<T & QuantArgs>;
}

export interface EvalArgs {
  eval?: string[];
}

/** `--eval`: the evaluation set of the commands that measure (compare, bisect, fix, emit). */
export function withEvalOption<T>(y: Argv<T>): Argv<T & EvalArgs> {
  return y.option('eval', {
    type: 'string',
    array: true,
    group: 'Inputs:',
    describe:
      'Evaluation inputs, apart from --calib: files or folders ([NAME=]PATH); targets must hold on the worst one (default: --input)',
  }) as unknown as Argv<T & EvalArgs>;
}

/** The quant setup of a command with an evaluation set: without --calib, it calibrates on the evaluation inputs (in-sample). */
export function quantSetupWithEval(args: QuantArgs & EvalArgs): QuantSetupOptions {
  const options = quantSetupOptions(args);
  return options.calib === undefined && args.eval && args.eval.length > 0 ? { ...options, calib: args.eval } : options;
}

export function parseOverrides(values: readonly string[] | undefined): Override[] {
  return (values ?? []).map((v) => {
    const eq = v.lastIndexOf('=');
    const precision = v.slice(eq + 1);
    if (eq <= 0 || !isPrecision(precision)) {
      throw new UserError(`--precision '${v}' must be SPEC=int8, SPEC=int16, SPEC=fp16 or SPEC=fp32.`);
    }
    return [v.slice(0, eq), precision] as const;
  });
}

export function maxMemoryOf(args: QuantArgs): number | undefined {
  const text = args['max-memory'] ?? args.maxMemory;
  return text === undefined ? undefined : parseSize(text);
}

export function quantSetupOptions(args: QuantArgs): QuantSetupOptions {
  return {
    profile: args.profile,
    planFile: args.plan,
    overrides: parseOverrides(args.precision),
    calib: args.calib,
    calibrationFile: args.calibration,
    method: args.method,
    percentile: args.percentile,
    maxMemory: maxMemoryOf(args),
  };
}

export interface OutputArgs {
  json?: boolean;
  quiet?: boolean;
}

export function withOutputOptions<T>(y: Argv<T>): Argv<T & OutputArgs> {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON on stdout' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress on stderr' }) as unknown as Argv<T & OutputArgs>;
}
