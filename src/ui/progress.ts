/** A progress bar of `width` cells: `█` done, `░` to do. */
export function progressBar(done: number, total: number, width: number): string {
  const ratio = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const full = Math.round(ratio * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

/**
 * The time left in a stage from its pace since its first count was seen: (now − at) / (done −
 * from) × (total − done). Null until a step has been done since then, or when the total is unknown.
 */
export function timeLeftMs(done: number, total: number, paceFrom: { at: number; done: number } | null, now: number): number | null {
  if (total <= 0 || done >= total || !paceFrom || done <= paceFrom.done) return null;
  const elapsed = Math.max(0, now - paceFrom.at);
  return (elapsed / (done - paceFrom.done)) * (total - done);
}

/** A spinner frame for work whose step count is unknown (it turns with the clock). */
export function spinner(now: number): string {
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  return frames[Math.floor(now / 250) % frames.length];
}
