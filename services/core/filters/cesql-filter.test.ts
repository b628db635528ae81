import { describe, expect, it } from 'vitest';
import { CesqlParseError } from './cesql/index.ts';
import { cesqlFilter } from './cesql-filter.ts';
import { testEvent } from './testing.ts';

describe('cesql dialect', () => {
  it('matches when the expression is true', () => {
    const f = cesqlFilter("model = 'iris' AND (source LIKE '/clients/%')")!;
    expect(f(testEvent({ model: 'iris', source: '/clients/7' }))).toBe(true);
    expect(f(testEvent({ model: 'iris', source: '/servers/7' }))).toBe(false);
  });

  it('does not match on an evaluation error, even when the value is true', () => {
    expect(cesqlFilter('myext = 1')!(testEvent())).toBe(false);
    expect(cesqlFilter('NOT 10')!(testEvent())).toBe(false);
    expect(cesqlFilter('NOT missing')!(testEvent())).toBe(false);
  });

  it('does not match a non-Boolean result', () => {
    expect(cesqlFilter("'true'")!(testEvent())).toBe(false);
    expect(cesqlFilter('1')!(testEvent())).toBe(false);
  });

  it('is no filter for an empty expression and throws on an invalid one', () => {
    expect(cesqlFilter('')).toBeNull();
    expect(() => cesqlFilter('type =')).toThrow(CesqlParseError);
  });
});
