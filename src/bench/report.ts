import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import type { Figure, Skip } from './figures.js';
import { REPO } from './models.js';

export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly freeMemoryBytesAtStart: number;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly onnxruntime: string;
  readonly quantscope: string;
  readonly commit: string | null;
}

function packageVersion(dir: string): string {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return 'unknown';
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
}

export function machineFacts(): MachineFacts {
  // Outside a git checkout (an installed package) the commit is simply unknown.
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  const commit = git.status === 0 ? git.stdout.trim() || null : null;
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytesAtStart: freemem(),
    platform: `${platform()} ${release()}`,
    arch: arch(),
    node: process.version,
    onnxruntime: packageVersion(join(REPO, 'node_modules', 'onnxruntime-node')),
    quantscope: packageVersion(REPO),
    commit,
  };
}

/** The 1, 5 and 15-minute load averages, rounded. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [round2(a), round2(b), round2(c)];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A figure's value in its unit, with sensible precision. */
export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'x':
      return value.toFixed(2);
    case 's':
      return value >= 100 ? value.toFixed(0) : value.toFixed(2);
    case 'ms':
      return value.toFixed(0);
    case 'MB':
      return value.toFixed(0);
    case 'MB/s':
      return value.toFixed(0);
    case 'runs':
      return Number.isInteger(value) ? String(value) : value.toFixed(1);
    default:
      return value.toPrecision(3);
  }
}

function targetText(f: Figure): string {
  if (!f.target) return '';
  const on = f.target.on === 'worst' ? ' (worst)' : '';
  const verdict = f.met === null ? '?' : f.met ? 'met' : 'MISSED';
  return `${f.target.comparator} ${formatValue(f.target.value, f.unit)}${on}: ${verdict}`;
}

/** The figures as a terminal table: median, spread (min–max over n samples), target. */
export function figureTable(figures: readonly Figure[], width = 120): string {
  const table = new Table({
    head: ['section', 'model', 'figure', 'unit', 'median', 'min–max', 'n', 'target'],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [9, 11, Math.max(24, width - 9 - 11 - 6 - 9 - 17 - 4 - 24 - 9), 6, 9, 17, 4, 24],
  });
  for (const f of figures) {
    table.push([
      f.section,
      f.model ?? '',
      f.label,
      f.unit,
      formatValue(f.median, f.unit),
      `${formatValue(f.min, f.unit)}–${formatValue(f.max, f.unit)}`,
      String(f.samples.length),
      targetText(f),
    ]);
  }
  return table.toString();
}

/** The figures as a Markdown table, for the README's Performance section. */
export function figureMarkdown(figures: readonly Figure[]): string {
  const lines = ['| section | model | figure | median | min–max (n) | target |', '|---|---|---|---:|---:|---|'];
  for (const f of figures) {
    const unit = f.unit === 'x' ? 'x' : ` ${f.unit}`;
    lines.push(
      `| ${f.section} | ${f.model ?? ''} | ${f.label} | ${formatValue(f.median, f.unit)}${unit} | ${formatValue(f.min, f.unit)}–${formatValue(f.max, f.unit)} (${f.samples.length}) | ${targetText(f)} |`,
    );
  }
  return lines.join('\n');
}

export function skipLines(skips: readonly Skip[]): string[] {
  return skips.map((s) => `skipped ${s.section}: ${s.reason}`);
}
