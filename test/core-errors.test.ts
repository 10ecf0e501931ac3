import { describe, expect, it } from 'vitest';
import { InternalError, required } from '../src/core/errors.js';

describe('required', () => {
  it.each([
    ['zero', 0],
    ['an empty string', ''],
    ['false', false],
    ['NaN', NaN],
    ['an object', { a: 1 }],
  ])('returns %s as it is', (_name, value) => {
    expect(required(value, 'missing')).toBe(value);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
  ])('throws an InternalError with the message for %s', (_name, value) => {
    expect(() => required(value, 'the metrics of y are missing')).toThrow(new InternalError('the metrics of y are missing'));
    expect(() => required(value, 'x')).toThrow(InternalError);
  });
});
