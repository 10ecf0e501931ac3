import { METRIC_NAMES, resolveMetricName } from '../analysis/metrics-target.js';
import type { SessionSettings } from '../app/session/session-settings.js';
import { builtinProfiles } from '../quant/profile.js';

/** One line of the settings screen: how it shows a value and reads typed text back. */
export interface SettingField {
  readonly field: keyof SessionSettings;
  readonly label: string;
  readonly help: string;
  readonly show: (s: SessionSettings) => string;
  /** The settings with the typed text in this field, or a sentence saying what is wrong with it. */
  readonly parse: (text: string, s: SessionSettings) => SessionSettings | string;
  /** Values ← and → step through, when the field has a short list of them. */
  readonly choices?: () => readonly string[];
}

const list = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

export const SETTING_FIELDS: readonly SettingField[] = [
  {
    field: 'metric',
    label: 'gate metric',
    help: 'the metric each tapped tensor passes or fails by (empty: the default gate)',
    show: (s) => s.metric ?? 'default (snrDb, outputs also psnrDb)',
    parse: (text, s) => {
      if (text.trim() === '' || text.trim() === 'default') return { ...s, metric: null, threshold: null };
      const metric = resolveMetricName(text.trim());
      return metric
        ? { ...s, metric, threshold: metric === s.metric ? s.threshold : null }
        : `'${text.trim()}' is not a metric; one of ${METRIC_NAMES.join(', ')}`;
    },
    choices: () => ['default', ...METRIC_NAMES],
  },
  {
    field: 'threshold',
    label: 'threshold',
    help: "the value a tensor must meet in the gate metric (empty: the metric's default)",
    show: (s) => (s.threshold === null ? 'default' : String(s.threshold)),
    parse: (text, s) => {
      if (text.trim() === '' || text.trim() === 'default') return { ...s, threshold: null };
      const value = Number(text.trim());
      return Number.isFinite(value) ? { ...s, threshold: value } : `'${text.trim()}' is not a number`;
    },
  },
  {
    field: 'target',
    label: 'fix target',
    help: 'what fix must reach at the outputs, e.g. snrDb>=30,psnrDb>=40 (empty: the default)',
    show: (s) => s.target ?? 'default (snrDb>=30,psnrDb>=40)',
    parse: (text, s) => ({ ...s, target: text.trim() === '' || text.trim() === 'default' ? null : text.trim() }),
  },
  {
    field: 'profile',
    label: 'profile',
    help: 'the accelerator profile: a built-in name or a profile file',
    show: (s) => s.profile,
    parse: (text, s) => (text.trim() === '' ? 'the profile needs a name or a file' : { ...s, profile: text.trim() }),
    choices: () => builtinProfiles(),
  },
  {
    field: 'calib',
    label: 'calibration inputs',
    help: 'files or folders calibration reads, separated by spaces (NAME=PATH for a model with several inputs)',
    show: (s) => (s.calib.length === 0 ? 'none (the evaluation input)' : s.calib.join(' ')),
    parse: (text, s) => ({ ...s, calib: list(text) }),
  },
  {
    field: 'eval',
    label: 'evaluation inputs',
    help: 'files or folders compare, bisect, fix and emit measure on, separated by spaces (empty: the session input)',
    show: (s) => (s.eval.length === 0 ? "none (the session's input)" : s.eval.join(' ')),
    parse: (text, s) => ({ ...s, eval: list(text) }),
  },
];

/** The text a field's prompt starts with: its value as typed, empty for a default. */
export function editText(field: SettingField, s: SessionSettings): string {
  const value = s[field.field];
  if (value === null) return '';
  return Array.isArray(value) ? value.join(' ') : String(value);
}

/** The field's next (step 1) or previous choice after its current value. */
export function stepChoice(field: SettingField, s: SessionSettings, step: 1 | -1): SessionSettings | string | null {
  const choices = field.choices?.();
  if (!choices || choices.length === 0) return null;
  const current = editText(field, s) || 'default';
  const at = choices.indexOf(current);
  const next = choices[(at + step + choices.length) % choices.length];
  return field.parse(next, s);
}
