import { describe, expect, it } from 'vitest';
import { exactFilter } from './exact.ts';
import { testEvent } from './testing.ts';

describe('exact dialect', () => {
  const f = exactFilter({ type: 'dev.order.created' })!;

  it('matches an equal value only, case-sensitively', () => {
    expect(f(testEvent({ type: 'dev.order.created' }))).toBe(true);
    expect(f(testEvent({ type: 'dev.order.Created' }))).toBe(false);
    expect(f(testEvent({ type: 'dev.order.created.v2' }))).toBe(false);
  });

  it('fails when the attribute is absent', () => {
    expect(exactFilter({ myext: 'x' })!(testEvent())).toBe(false);
  });

  it('compares typed extensions in their string form', () => {
    expect(exactFilter({ count: '3' })!(testEvent({ count: 3 }))).toBe(true);
    expect(exactFilter({ flag: 'true' })!(testEvent({ flag: true }))).toBe(true);
    expect(exactFilter({ flag: 'True' })!(testEvent({ flag: true }))).toBe(false);
  });

  it('ANDs several attributes when given more than one', () => {
    const both = exactFilter({ type: 'a', source: '/s' })!;
    expect(both(testEvent({ type: 'a', source: '/s' }))).toBe(true);
    expect(both(testEvent({ type: 'a', source: '/t' }))).toBe(false);
  });

  it('is no filter when empty or when a value is empty (Knative skips it)', () => {
    expect(exactFilter({})).toBeNull();
    expect(exactFilter({ type: '' })).toBeNull();
  });

  it('never reads inherited members', () => {
    expect(exactFilter({ constructor: 'function Object() { [native code] }' })!(testEvent())).toBe(false);
  });
});
