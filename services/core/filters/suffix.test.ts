import { describe, expect, it } from 'vitest';
import { suffixFilter } from './suffix.ts';
import { testEvent } from './testing.ts';

describe('suffix dialect', () => {
  const f = suffixFilter({ type: '.error' })!;

  it('matches values ending with the suffix, case-sensitively', () => {
    expect(f(testEvent({ type: 'com.github.error' }))).toBe(true);
    expect(f(testEvent({ type: 'com.github.ERROR' }))).toBe(false);
    expect(f(testEvent({ type: 'com.github.error.v1' }))).toBe(false);
  });

  it('fails when the attribute is absent', () => {
    expect(suffixFilter({ subject: '.png' })!(testEvent())).toBe(false);
    expect(suffixFilter({ subject: '.png' })!(testEvent({ subject: 'cat.png' }))).toBe(true);
  });

  it('uses the string form of typed extensions', () => {
    expect(suffixFilter({ ok: 'ue' })!(testEvent({ ok: true }))).toBe(true);
  });

  it('is no filter when empty or with an empty suffix', () => {
    expect(suffixFilter({})).toBeNull();
    expect(suffixFilter({ type: '' })).toBeNull();
  });
});
