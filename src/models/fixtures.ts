import type { ModelSpec } from '../onnx/index.js';
import { buildConvInRelu, buildConvnet, buildHostileNames, buildOldIr, buildWide1000 } from './fixtures-basic.js';
import {
  buildCoPromotion,
  buildConcatRanges,
  buildLargeBias,
  buildNonMonotone,
  buildOutlierChannel,
  buildPlantedSource,
  buildReduceMeanOverflow,
} from './fixtures-planted.js';

export interface Fixture {
  readonly name: string;
  /** Path relative to the repository root. */
  readonly file: string;
  readonly build: () => ModelSpec;
  readonly description: string;
  /** The node a bisect (or own-error attribution) must name, when the fixture plants a fault. */
  readonly planted?: string;
  /** The profile under which the planted fault shows. */
  readonly profile?: 'generic-int8' | 'int8-fp16';
  /** Other nodes the fault involves (the Concat that joins the ranges, where the error reappears...). */
  readonly related?: readonly string[];
}

function fixture(f: Omit<Fixture, 'file'>): Fixture {
  return { ...f, file: `fixtures/${f.name}.onnx` };
}

export const FIXTURES: readonly Fixture[] = [
  fixture({
    name: 'opset13-convnet',
    build: () => buildConvnet(13),
    description: 'A small classifier at opset 13: Conv, Relu, a residual Add, MaxPool, GlobalAveragePool, Flatten and Gemm.',
  }),
  fixture({
    name: 'opset21-convnet',
    build: () => buildConvnet(21),
    description: 'The same classifier at opset 21 (IR 10), where standard Q/DQ support int16.',
  }),
  fixture({
    name: 'opset7-old-ir',
    build: buildOldIr,
    description: 'IR 3 and opset 7 with initializers also listed as graph inputs, InstanceNormalization and Upsample with a scales attribute.',
  }),
  fixture({
    name: 'conv-in-relu',
    build: buildConvInRelu,
    description: 'input → Conv → InstanceNormalization → Relu → Conv → output, the pattern a device fuses into one kernel.',
  }),
  fixture({
    name: 'outlier-channel',
    build: buildOutlierChannel,
    description: '`outlier_conv` makes one channel 1000x larger than the others; `planted_conv` quantizes all of them per-tensor and the small channels collapse.',
    planted: 'planted_conv',
    profile: 'generic-int8',
    related: ['outlier_conv'],
  }),
  fixture({
    name: 'reducemean-overflow',
    build: buildReduceMeanOverflow,
    description: '`planted_mean` averages 40 ± 1 over 64x64 positions: the mean fits fp16, the running sum (163,840) overflows it.',
    planted: 'planted_mean',
    profile: 'int8-fp16',
  }),
  fixture({
    name: 'concat-ranges',
    build: buildConcatRanges,
    description: '`planted_concat` joins branches of range ~1 and ~1000; `concat_consumer` quantizes the join per-tensor and the small branch collapses.',
    planted: 'concat_consumer',
    profile: 'generic-int8',
    related: ['planted_concat'],
  }),
  fixture({
    name: 'large-bias',
    build: buildLargeBias,
    description: '`planted_bias_conv` adds a bias of 900 to inputs and weights of order 1: an int32 bias at the INT16 scale s_x·s_w cannot hold it.',
    planted: 'planted_bias_conv',
    profile: 'generic-int8',
  }),
  fixture({
    name: 'co-promotion',
    build: buildCoPromotion,
    description: '`style_conv` has an outlier channel and `fused_consumer` reads the Concat of both branches per tensor: the cheapest plan promotes both, not `content_conv`.',
    planted: 'fused_consumer',
    profile: 'generic-int8',
    related: ['style_conv', 'branch_join'],
  }),
  fixture({
    name: 'non-monotone',
    build: buildNonMonotone,
    description: 'The error of `planted_nonmono` is masked by `nonmono_mask` and reappears at `skip_add`: not monotone along the order.',
    planted: 'planted_nonmono',
    profile: 'generic-int8',
    related: ['nonmono_mask', 'skip_add'],
  }),
  fixture({
    name: 'planted-source',
    build: buildPlantedSource,
    description: 'A chain where only `planted_source` has a large own error (`spike` scales one of its input channels by 1000); later nodes just pass it on.',
    planted: 'planted_source',
    profile: 'generic-int8',
    related: ['spike'],
  }),
  fixture({
    name: 'hostile-names',
    build: buildHostileNames,
    description: 'A runnable model whose names contain ../, a leading /, a backslash, NUL, terminal escapes and 10,000 characters.',
  }),
  fixture({
    name: 'wide-1000',
    build: buildWide1000,
    description: 'About 1,000 nodes (250 blocks of Conv 1x1, Add, Tanh, Mul) on a [1,4,4,4] tensor, for TUI and benchmark timing.',
  }),
];

export function fixtureByName(name: string): Fixture | undefined {
  return FIXTURES.find((f) => f.name === name);
}
