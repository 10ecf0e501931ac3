/** Levenshtein distance, capped for speed: distances above `cap` are reported as cap + 1. */
export function editDistance(a: string, b: string, cap = 64): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  const prev = new Array<number>(b.length + 1);
  const cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (cur[j] < rowMin) rowMin = cur[j];
    }
    if (rowMin > cap) return cap + 1;
    for (let j = 0; j <= b.length; j++) prev[j] = cur[j];
  }
  return prev[b.length];
}

/** The candidates closest to `name` (case-insensitive substring matches first), at most `count`. */
export function closestNames(name: string, candidates: Iterable<string>, count = 3): string[] {
  const lower = name.toLowerCase();
  const scored: { c: string; score: number }[] = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    // A substring first, then an abbreviation (the name's letters in order, from the same first
    // letter: `conv15` for `convolution15`), then the edit distance.
    const score = cl.includes(lower) || lower.includes(cl) ? -2 : isAbbreviation(lower, cl) ? -1 : editDistance(lower, cl, 32);
    scored.push({ c, score });
  }
  scored.sort(
    (x, y) => x.score - y.score || Math.abs(x.c.length - name.length) - Math.abs(y.c.length - name.length) || x.c.localeCompare(y.c),
  );
  return scored.slice(0, count).map((s) => s.c);
}

/** Whether `short` is `long`'s letters in order (a subsequence) starting with the same letter. */
function isAbbreviation(short: string, long: string): boolean {
  if (short.length < 2 || short[0] !== long[0]) return false;
  let i = 0;
  for (const ch of long) if (ch === short[i]) i += 1;
  return i >= short.length;
}

/** Shows a user-supplied name safely in one line: control characters and escapes made visible, long names cut. */
export function displayName(name: string, max = 120): string {
  let out = '';
  for (const ch of name) {
    const code = ch.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0)) {
      out += code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
    } else if (ch === '\\') {
      out += '\\\\';
    } else {
      out += ch;
    }
    if (out.length > max) return `${out.slice(0, max)}…(${name.length} chars)`;
  }
  return out;
}
