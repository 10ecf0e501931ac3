import { writeFileSync } from 'node:fs';

/**
 * Preloaded (`node --import`) into a measured child when GNU time is absent: on exit, writes the
 * process's peak resident set size in kilobytes to $QS_BENCH_RSS_FILE.
 */
const file = process.env.QS_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
