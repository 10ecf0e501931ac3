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
      { keys: '↑↓ PgUp PgDn g G', description: 'move; the list scrolls (j k also move)' },
      { keys: '/', description: 'filter: name, glob (conv*), op:Type, re:regex, @hotspots, a,b lists' },
      { keys: '1 2 3 4 0', description: 'presets: @hotspots, quantized ops, outputs, hotspot op types; 0 clears' },
      { keys: 'space  a  c', description: 'tap the node; tap all shown (again: untap); clear taps' },
      { keys: 'p  u', description: "cycle the node's precision; undo every edit (with several, a second u confirms)" },
      { keys: 'Enter  l', description: "the node's result: its detail; its row in the results" },
    ],
  },
  {
    title: 'Results',
    keys: [
      { keys: 'Enter', description: 'detail: worst channel, percentiles, NaN/Inf, clipping' },
      { keys: 'm M', description: 'next/previous metric shown (the gate stays; s changes it)' },
      { keys: 'S  I', description: 'sort by the next column (depth, accumulated, own, name, op); invert' },
      { keys: 'n N', description: 'next/previous search match; without a search n: first failing' },
      { keys: 'l', description: "the row's node in the graph (Enter or l there comes back)" },
      { keys: 'F', description: 'every finding of the advisor in full (Enter: its tensor)' },
      { keys: 'z', description: 'zoom the chart around the cursor: 1x, 4x, 16x' },
    ],
  },
  {
    title: 'Detail',
    keys: [
      { keys: '↑↓ j k', description: 'previous/next tensor' },
      { keys: 'PgUp PgDn Home End', description: 'scroll the detail' },
      { keys: 'Enter Esc', description: 'back to the results; l: the node in the graph' },
    ],
  },
  {
    title: 'Bisect and fix',
    keys: [
      { keys: '↑↓ PgUp PgDn', description: 'scroll the probes; l: the probe in the graph' },
      { keys: 'Enter  y', description: 'apply the plan found to the session (only on the plan it ran on)' },
    ],
  },
  {
    title: 'Runs',
    keys: [
      { keys: 'R', description: 'the compares of this session, each with its plan and gate' },
      { keys: 'space  Enter', description: 'make the run the baseline; compare the run with it, tensor by tensor' },
    ],
  },
  {
    title: 'Settings',
    keys: [
      { keys: 's', description: 'settings: gate metric, threshold, fix target, profile, calib, eval' },
      { keys: '↑↓  Enter  ← →', description: 'choose a field; type its value; step through its choices' },
      { keys: 'a  x', description: 'apply the changes (results they touch turn stale); drop them' },
    ],
  },
  {
    title: 'Plans',
    keys: [
      { keys: 'P', description: 'the whole plan: the edits, the overrides it started from, every node away from its default' },
      { keys: 'w  o', description: 'write the plan to a file; open a plan file as the edits' },
      { keys: 'q', description: 'with unsaved edits asks first: q again quits, w saves, Esc stays' },
    ],
  },
  {
    title: 'Everywhere',
    keys: [
      { keys: 'r  b  f  e', description: 'run the comparison, bisect, fix, emit the model' },
      { keys: '/', description: 'search the list (results, findings, runs, probes, help); Enter jumps' },
      { keys: 'Tab', description: 'next screen: graph, results, runs, bisect, fix, emit' },
      { keys: 'Esc', description: 'cancel the running job (nothing half-written kept), else back' },
      { keys: '?  q', description: 'this help (↑↓ scroll, / searches it); quit' },
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
    { key: '/', label: 'search' },
    { key: 'S', label: 'sort' },
    { key: 'F', label: 'findings' },
    { key: 'm', label: 'metric' },
    { key: 'n', label: '1st fail' },
    { key: 'z', label: 'zoom' },
    ...JOBS,
    { key: 's', label: 'settings' },
  ],
  detail: [
    { key: '↑↓', label: 'prev/next' },
    { key: 'PgDn', label: 'scroll' },
    { key: 'l', label: 'graph' },
    { key: 'Esc', label: 'back' },
  ],
  findings: [
    { key: '↵', label: 'tensor' },
    { key: '/', label: 'search' },
    { key: 'l', label: 'graph' },
    { key: 'Esc', label: 'back' },
  ],
  runs: [
    { key: '␣', label: 'baseline' },
    { key: '↵', label: 'compare' },
    { key: '/', label: 'search' },
    { key: 'Esc', label: 'back' },
  ],
  plan: [
    { key: '↑↓', label: 'scroll' },
    { key: 'w', label: 'save' },
    { key: 'o', label: 'open' },
    { key: 'Esc', label: 'back' },
  ],
  settings: [
    { key: '↵', label: 'edit' },
    { key: '←→', label: 'choices' },
    { key: 'a', label: 'apply' },
    { key: 'x', label: 'drop' },
    { key: 'Esc', label: 'back' },
  ],
  bisect: [{ key: '↵', label: 'apply plan' }, { key: '/', label: 'search' }, ...JOBS, { key: 'w', label: 'save plan' }],
  fix: [{ key: '↵', label: 'apply plan' }, { key: '/', label: 'search' }, ...JOBS, { key: 'w', label: 'save plan' }],
  emit: [...JOBS, { key: 'w', label: 'save plan' }, { key: 'Tab', label: 'screen' }, { key: 'Esc', label: 'back' }],
  help: [
    { key: '↑↓', label: 'scroll' },
    { key: '/', label: 'search' },
    { key: 'any key', label: 'back' },
  ],
};

/** The hints for a screen; while a job runs the job keys give way to Esc. */
export function footerHints(screen: Screen, options: { editing: boolean; running: boolean; prompt?: boolean }): readonly Hint[] {
  if (options.prompt) {
    return [
      { key: 'type', label: 'text' },
      { key: '↵', label: 'done' },
      { key: 'Esc', label: 'cancel' },
      { key: '^U', label: 'clear' },
    ];
  }
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
