/** A progress bar of `width` cells: `█` done, `░` to do. */
export function progressBar(done: number, total: number, width: number): string {
  const ratio = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
  const full = Math.round(ratio * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}
