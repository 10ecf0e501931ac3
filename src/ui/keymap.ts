import type { Screen } from './state.js';

/** The keys of each screen: the footer shows short hints, the help screen the descriptions. */
export interface KeyHelp {
  readonly keys: string;
  readonly description: string;
}

export interface Hint {
  readonly key: string;
  readonly label: string;
}

export const HELP: readonly { readonly title: string; readonly keys: readonly KeyHelp[] }[] = [
  {
    title: 'Graph',
    keys: [
      { keys: '↑↓ PgUp PgDn g G', description: 'move; the list scrolls' },
      { keys: '/', description: 'filter: name, glob (conv*), op:Type, re:regex, @hotspots, a,b lists' },
      { keys: '1 2 3 4 0', description: 'presets: @hotspots, quantized ops, outputs, hotspot types; 0 clears' },
      { keys: 'space  a  c', description: 'tap the node; tap all shown (again: untap); clear taps' },
      { keys: 'p  u', description: "cycle the node's precision; undo all precision edits" },
      { keys: 'Enter', description: "detail of the node's last comparison" },
    ],
  },
  {
    title: 'Results',
    keys: [
      { keys: 'Enter', description: 'detail: worst channel, percentiles, NaN/Inf, clipping' },
      { keys: 'm M  n', description: 'next/previous metric; jump to the first failing tensor' },
      { keys: 'z', description: 'zoom the chart around the cursor: 1x, 4x, 16x' },
      { keys: 'PgUp PgDn Home End', description: 'in the detail: scroll it; ↑↓ step between tensors' },
    ],
  },
  {
    title: 'Everywhere',
    keys: [
      { keys: 'r  b  f  e', description: 'run the comparison, bisect, fix, emit the model' },
      { keys: '↵ (bisect, fix)', description: 'apply the plan found to the session' },
      { keys: 'Tab', description: 'next screen: graph, results, bisect, fix, emit' },
      { keys: 'Esc', description: 'cancel the running job (nothing half-written kept), else back' },
      { keys: '?  q', description: 'this help; quit' },
    ],
  },
];

const JOBS: readonly Hint[] = [
  { key: 'r', label: 'run' },
  { key: 'b', label: 'bisect' },
  { key: 'f', label: 'fix' },
  { key: 'e', label: 'emit' },
];
const LAST: readonly Hint[] = [
  { key: '?', label: 'help' },
  { key: 'q', label: 'quit' },
];

const SCREEN_HINTS: Readonly<Record<Screen, readonly Hint[]>> = {
  graph: [{ key: '/', label: 'filter' }, { key: '␣', label: 'tap' }, { key: 'a', label: 'all' }, { key: 'p', label: 'prec' }, ...JOBS],
  results: [
    { key: '↵', label: 'detail' },
    { key: 'm', label: 'metric' },
    { key: 'n', label: '1st fail' },
    { key: 'z', label: 'zoom' },
    ...JOBS,
    { key: 'Tab', label: 'screen' },
  ],
  detail: [
    { key: '↑↓', label: 'prev/next' },
    { key: 'PgUp/Dn', label: 'scroll' },
    { key: 'Esc', label: 'back' },
  ],
  bisect: [{ key: '↵', label: 'apply plan' }, { key: '↑↓', label: 'scroll' }, ...JOBS, { key: 'Tab', label: 'screen' }],
  fix: [{ key: '↵', label: 'apply plan' }, { key: '↑↓', label: 'scroll' }, ...JOBS, { key: 'Tab', label: 'screen' }],
  emit: [...JOBS, { key: 'Tab', label: 'screen' }, { key: 'Esc', label: 'back' }],
  help: [{ key: 'any key', label: 'back' }],
};

/** The hints for a screen; while a job runs the job keys give way to Esc. */
export function footerHints(screen: Screen, options: { editing: boolean; running: boolean }): readonly Hint[] {
  if (options.editing) {
    return [
      { key: 'type', label: 'filter' },
      { key: '↵', label: 'apply' },
      { key: 'Esc', label: 'cancel' },
      { key: '^U', label: 'clear' },
    ];
  }
  const own = SCREEN_HINTS[screen].filter((h) => !(options.running && (JOBS.includes(h) || h.key === 'Esc')));
  return [...(options.running ? [{ key: 'Esc', label: 'cancel' }] : []), ...own, ...LAST];
}

/** Width of a hint as rendered: key, space, label. */
export function hintWidth(h: Hint): number {
  return [...h.key].length + 1 + [...h.label].length;
}

/**
 * The hints that fit in `width` with two spaces between them. The last two (help, quit) are
 * always kept; others are dropped from the end of the screen's own list.
 */
export function fitHints(hints: readonly Hint[], width: number): Hint[] {
  const keep = hints.slice(-2);
  const rest = hints.slice(0, -2);
  const total = (list: readonly Hint[]): number => list.reduce((s, h) => s + hintWidth(h), 0) + Math.max(0, list.length - 1) * 2;
  while (rest.length > 0 && total([...rest, ...keep]) > width) rest.pop();
  return [...rest, ...keep];
}
