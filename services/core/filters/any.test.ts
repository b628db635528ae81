import { describe, expect, it } from 'vitest';
import { anyFilter } from './any.ts';
import { prefixFilter } from './prefix.ts';
import { testEvent } from './testing.ts';

const yes = () => true;
const no = () => false;

describe('any dialect', () => {
  it('matches when at least one filter matches', () => {
    const e = testEvent();
    expect(anyFilter([no, yes])!(e)).toBe(true);
    expect(anyFilter([no, no, no])!(e)).toBe(false);
    expect(anyFilter([yes, no])!(e)).toBe(true);
  });

  it('stops at the first match', () => {
    let calls = 0;
    const counted = () => {
      calls++;
      return false;
    };
    anyFilter([yes, counted])!(testEvent());
    expect(calls).toBe(0);
  });

  it('drops "no filter" entries; an empty list is no filter', () => {
    expect(anyFilter([])).toBeNull();
    expect(anyFilter([null])).toBeNull();
    expect(anyFilter([null, no])!(testEvent())).toBe(false);
  });

  it('combines real dialects', () => {
    const f = anyFilter([prefixFilter({ type: 'a.' }), prefixFilter({ type: 'b.' })])!;
    expect(f(testEvent({ type: 'b.x' }))).toBe(true);
    expect(f(testEvent({ type: 'c.x' }))).toBe(false);
  });
});
