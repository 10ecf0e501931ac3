import { runNode, tail } from './child.js';
import { figure, type Figure } from './figures.js';
import { CLI, REPO, type BenchModel } from './models.js';

/**
 * Section 6: start-up. Wall time of `quantscope inspect <model>` as a child process, from spawn
 * to exit, beside `quantscope --version` (Node's own start plus loading the CLI's entry point).
 */
export async function startup(models: readonly BenchModel[], reps: number, onStep: (what: string) => void): Promise<Figure[]> {
  const measure = async (args: readonly string[]): Promise<number[]> => {
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) {
      const result = await runNode([CLI, ...args], { cwd: REPO, timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`quantscope ${args.join(' ')} exited with ${result.code}: ${tail(result.stderr)}`);
      ms.push(result.ms);
    }
    return ms;
  };
  onStep('--version');
  const figures = [
    figure({ id: 'startup.version', section: 'startup', label: 'quantscope --version', unit: 'ms' }, await measure(['--version'])),
  ];
  for (const m of models) {
    onStep(`inspect ${m.id}`);
    figures.push(
      figure(
        { id: `startup.inspect.${m.id}`, section: 'startup', model: m.id, label: 'quantscope inspect', unit: 'ms' },
        await measure(['inspect', m.path]),
      ),
    );
  }
  return figures;
}
