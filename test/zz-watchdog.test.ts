import { it } from 'vitest';
import { fuzz } from './helpers/fuzz.js';
it('hangs', () => {
  fuzz({ target: 'hang-demo', seed: 1, cases: 3 }, (r, i) => ({ size: 1, kind: 'spin', run: () => { if (i === 2) for (;;) { /* spin */ } } }));
});
