import { describe, expect, it } from 'vitest';
import { exactFilter } from './exact.ts';
import { notFilter } from './not.ts';
import { testEvent } from './testing.ts';

describe('not dialect', () => {
  it('inverts the nested filter', () => {
    const f = notFilter(exactFilter({ type: 'noise' }))!;
    expect(f(testEvent({ type: 'noise' }))).toBe(false);
    expect(f(testEvent({ type: 'signal' }))).toBe(true);
  });

  it('matches when the nested filter fails on an absent attribute', () => {
    expect(notFilter(exactFilter({ myext: 'x' }))!(testEvent())).toBe(true);
  });

  it('keeps "no filter" as no filter, as Knative does', () => {
    expect(notFilter(null)).toBeNull();
  });
});
