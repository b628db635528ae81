import { describe, expect, it } from 'vitest';
import { prefixFilter } from './prefix.ts';
import { testEvent } from './testing.ts';

describe('prefix dialect', () => {
  const f = prefixFilter({ source: 'https://' })!;

  it('matches values starting with the prefix, case-sensitively', () => {
    expect(f(testEvent({ source: 'https://example.com' }))).toBe(true);
    expect(f(testEvent({ source: 'https://' }))).toBe(true);
    expect(f(testEvent({ source: 'HTTPS://example.com' }))).toBe(false);
    expect(f(testEvent({ source: 'http://example.com' }))).toBe(false);
  });

  it('fails when the attribute is absent', () => {
    expect(prefixFilter({ myext: 'cu' })!(testEvent())).toBe(false);
    expect(prefixFilter({ myext: 'cu' })!(testEvent({ myext: 'custom' }))).toBe(true);
  });

  it('uses the string form of typed extensions', () => {
    expect(prefixFilter({ code: '40' })!(testEvent({ code: 404 }))).toBe(true);
  });

  it('is no filter when empty or with an empty prefix', () => {
    expect(prefixFilter({})).toBeNull();
    expect(prefixFilter({ source: '' })).toBeNull();
  });
});
