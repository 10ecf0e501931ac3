import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisect } from '../src/app/bisect/bisect.js';
import { compareModel } from '../src/app/compare/compare.js';
import { fix } from '../src/app/fix.js';
import { parseOverrides } from '../src/cli/options.js';
import { FIXTURES } from '../src/models/fixtures.js';
import { withOverrides } from '../src/quant/plan.js';
import type { Finding } from '../src/analysis/advisor.js';
import { HAS_SHARED, REPO, SHARED, sharedCache } from './helpers/cli.js';
import { openWithPlan, writeSyntheticCalibration } from './helpers/quant-setup.js';

/**
 * Every `--precision SPEC=PREC` the advisor suggests after compare, bisect and fix must be a
 * command the tool accepts (measured before: it suggested `--precision /ReduceMean=int16` for a
 * float op, which exits 2). On the demo and every generated model, under both built-in profiles.
 */

// The run's calibration cache: udnie and candy on cat and dog as app-check calibrates them.
const dir = sharedCache('qs-advisor-runnable-');
const MODELS = ['models/demo-generator.onnx', ...FIXTURES.filter((f) => f.name !== 'wide-1000').map((f) => f.file)];

/**
 * The arguments of every `--precision` in the suggestions, as a POSIX shell would pass them:
 * a single-quoted word loses its quotes ('\'' is a quote inside one).
 */
function suggested(findings: readonly Finding[]): string[] {
  const word = /--precision ((?:'[^']*'|\\'|[^\s'])+)/g;
  return findings.flatMap((f) =>
    [...`${f.suggestion ?? ''}`.matchAll(word)].map((m) =>
      m[1]
        .replace(/'([^']*)'|\\(')/g, (_, quoted: string | undefined, escaped: string | undefined) => quoted ?? escaped ?? '')
        .replace(/[.,;)]+$/, ''),
    ),
  );
}

describe.each(MODELS)('%s', (model) => {
  it.each(['generic-int8', 'int8-fp16'])('%s: every --precision the advisor suggests is accepted', async (profile) => {
    const calib = writeSyntheticCalibration(join(REPO, model), join(dir, 'calib', model.replace(/\W/g, '_')), [1, 2]);
    const { ctx, setup } = await openWithPlan(join(REPO, model), { profile, calib });
    const compared = await compareModel({ ctx, quant: setup, achievable: false });
    const bisected = await bisect({ ctx, quant: setup, metric: 'cosine', threshold: 0.9999 });
    const fixed = await fix({
      ctx,
      quant: setup,
      maxPromotions: 2,
      planOut: join(dir, 'plans', `${model.replace(/\W/g, '_')}-${profile}.json`),
    });
    const lines = [...suggested(compared.report.findings ?? []), ...suggested(bisected.findings), ...suggested(fixed.findings)];
    if (model.includes('hostile')) expect(lines.some((l) => l.startsWith('re:'))).toBe(true);
    for (const line of lines) {
      expect(() => withOverrides(setup.plan, ctx.graph, parseOverrides([line])), line).not.toThrow();
    }
  });
});

const IMAGES = join(SHARED, 'images');
if (!HAS_SHARED) console.log(`skipping the runnable-suggestion checks on udnie and candy: ${SHARED} is absent`);

describe.skipIf(!HAS_SHARED).each(['udnie', 'candy'])('%s (calibrated on cat and dog, evaluated on fish)', { tags: ['slow'] }, (name) => {
  // compare and bisect only: a fix on a 720x720 model costs a minute more and its findings come from the same rules as bisect's.
  it('generic-int8: every --precision the advisor suggests after compare and bisect is accepted', async () => {
    const { ctx, setup } = await openWithPlan(join(SHARED, 'models', `${name}.onnx`), {
      profile: 'generic-int8',
      calib: [join(IMAGES, 'cat.jpg'), join(IMAGES, 'dog.jpg')],
      inputs: [join(IMAGES, 'fish_720.png')],
      preprocess: 'size=720x720',
    });
    const compared = await compareModel({ ctx, quant: setup, achievable: false });
    const bisected = await bisect({ ctx, quant: setup });
    const lines = [...suggested(compared.report.findings ?? []), ...suggested(bisected.findings)];
    expect(lines.length).toBeGreaterThan(0);
    console.log(`${name}: ${lines.length} suggested --precision value(s): ${lines.join(' ')}`);
    expect(compared.report.findings?.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(() => withOverrides(setup.plan, ctx.graph, parseOverrides([line])), line).not.toThrow();
    }
  }, 300_000);
});
