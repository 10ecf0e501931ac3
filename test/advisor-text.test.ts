import { describe, expect, it } from 'vitest';
import { precisionFlag, spec } from '../src/analysis/advisor-text.js';

describe('names in suggestions', () => {
  it.each<[string, string, string]>([
    ['conv1', 'conv1', '--precision conv1=int16'],
    ['/abs/../out', '/abs/../out', '--precision /abs/../out=int16'],
    // A leading '-' would be read as a flag even when quoted: an exact pattern.
    ['-conv1', "'re:^\\x2dconv1$'", "--precision 're:^\\x2dconv1$=int16'"],
    // The selection language takes these as they are once quoted (graph inputs included).
    ['images:0', "'images:0'", "--precision 'images:0=int16'"],
    ['a b', "'a b'", "--precision 'a b=int16'"],
    ["it's", "'it'\\''s'", "--precision 'it'\\''s=int16'"],
    // A comma, a glob character or a control character needs an exact pattern.
    ['a,b', "'re:^a\\x2cb$'", "--precision 're:^a\\x2cb$=int16'"],
    ['nul\u0000node', "'re:^nul\\x00node$'", "--precision 're:^nul\\x00node$=int16'"],
    ['op:Conv', "'re:^op\\x3aConv$'", "--precision 're:^op\\x3aConv$=int16'"],
  ])('%j', (name, wantSpec, wantFlag) => {
    expect(spec(name)).toBe(wantSpec);
    expect(precisionFlag(name, 'int16')).toBe(wantFlag);
  });
});
