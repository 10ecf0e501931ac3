import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bisect } from '../src/app/bisect.js';
import { compareModel } from '../src/app/compare.js';
import { fix } from '../src/app/fix.js';
import { parseOverrides } from '../src/cli/options.js';
import { FIXTURES } from '../src/models/fixtures.js';
import { withOverrides } from '../src/quant/plan.js';
import type { Finding } from '../src/analysis/advisor.js';
import { isolatedCache, REPO } from './helpers/cli.js';
import { openWithPlan, writeSyntheticCalibration } from './helpers/quant-setup.js';

/**
 * Every `--precision SPEC=PREC` the advisor suggests after compare, bisect and fix must be a
 * command the tool accepts (measured before: it suggested `--precision /ReduceMean=int16` for a
 * float op, which exits 2). On the demo and every generated model, under both built-in profiles.
 */

const dir = isolatedCache('qs-advisor-runnable-');
const MODELS = ['models/demo-generator.onnx', ...FIXTURES.filter((f) => f.name !== 'wide-1000').map((f) => f.file)];

/**
 * The arguments of every `--precision` in the suggestions, as a POSIX shell would pass them:
 * a single-quoted word loses its quotes ('\'' is a quote inside one).
 */
function suggested(findings: readonly Finding[]): string[] {
  const word = /--precision ((?:'[^']*'|\\'|[^\s'])+)/g;
  return findings.flatMap((f) => [...`${f.suggestion ?? ''}`.matchAll(word)].map((m) => m[1].replace(/'([^']*)'|\\(')/g, (_, quoted: string | undefined, escaped: string | undefined) => quoted ?? escaped ?? '').replace(/[.,;)]+$/, '')));
}

describe.each(MODELS)('%s', (model) => {
  it.each(['generic-int8', 'int8-fp16'])('%s: every --precision the advisor suggests is accepted', async (profile) => {
    const calib = writeSyntheticCalibration(join(REPO, model), join(dir, 'calib', model.replace(/\W/g, '_')), [1, 2]);
    const { ctx, setup } = await openWithPlan(join(REPO, model), { profile, calib });
    const compared = await compareModel({ ctx, quant: setup, achievable: false });
    const bisected = await bisect({ ctx, quant: setup, metric: 'cosine', threshold: 0.9999 });
    const fixed = await fix({ ctx, quant: setup, maxPromotions: 2, planOut: join(dir, 'plans', `${model.replace(/\W/g, '_')}-${profile}.json`) });
    const lines = [...suggested(compared.report.findings ?? []), ...suggested(bisected.findings), ...suggested(fixed.findings)];
    if (model.includes('hostile')) expect(lines.some((l) => l.startsWith('re:'))).toBe(true);
    for (const line of lines) {
      expect(() => withOverrides(setup.plan, ctx.graph, parseOverrides([line])), line).not.toThrow();
    }
  });
});
