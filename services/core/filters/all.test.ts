import { describe, expect, it } from 'vitest';
import { allFilter } from './all.ts';
import { exactFilter } from './exact.ts';
import { testEvent } from './testing.ts';

const yes = () => true;
const no = () => false;

describe('all dialect', () => {
  it('matches only when every filter matches', () => {
    const e = testEvent();
    expect(allFilter([yes, yes])!(e)).toBe(true);
    expect(allFilter([yes, no])!(e)).toBe(false);
    expect(allFilter([no, yes, yes])!(e)).toBe(false);
    expect(allFilter([yes, yes, yes])!(e)).toBe(true);
  });

  it('stops at the first failure', () => {
    let calls = 0;
    const counted = () => {
      calls++;
      return true;
    };
    allFilter([no, counted, counted])!(testEvent());
    expect(calls).toBe(0);
  });

  it('drops "no filter" entries and is no filter when nothing remains', () => {
    expect(allFilter([])).toBeNull();
    expect(allFilter([null, null])).toBeNull();
    expect(allFilter([null, no])).toBe(no);
  });

  it('combines real dialects', () => {
    const f = allFilter([exactFilter({ type: 'a' }), exactFilter({ source: '/s' })])!;
    expect(f(testEvent({ type: 'a', source: '/s' }))).toBe(true);
    expect(f(testEvent({ type: 'a', source: '/x' }))).toBe(false);
  });
});
