import { describe, expect, it } from 'vitest';
import { legacyAttributesFilter } from './legacy-attributes.ts';
import { testEvent } from './testing.ts';

describe('legacy filter.attributes', () => {
  it('matches exact values, ANDed and case-sensitive', () => {
    const f = legacyAttributesFilter({ type: 'a', source: '/src' })!;
    expect(f(testEvent({ type: 'a' }))).toBe(true);
    expect(f(testEvent({ type: 'A' }))).toBe(false);
    expect(f(testEvent({ type: 'a', source: '/other' }))).toBe(false);
  });

  it('treats "" as any value of a present attribute', () => {
    const f = legacyAttributesFilter({ subject: '' })!;
    expect(f(testEvent({ subject: 'x' }))).toBe(true);
    expect(f(testEvent({ subject: '' }))).toBe(true);
    expect(f(testEvent())).toBe(false);
  });

  it('compares typed extensions in their string form', () => {
    expect(legacyAttributesFilter({ n: '5' })!(testEvent({ n: 5 }))).toBe(true);
  });

  it('is no filter when empty or absent', () => {
    expect(legacyAttributesFilter({})).toBeNull();
    expect(legacyAttributesFilter(undefined)).toBeNull();
  });
});
