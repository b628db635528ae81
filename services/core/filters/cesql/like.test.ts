import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLike } from './like.ts';

const like = (text: string, pattern: string) => compileLike(pattern)(text);

/** Reference: the pattern as an anchored regular expression over code points. */
function reference(text: string, pattern: string): boolean {
  let re = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\' && (chars[i + 1] === '%' || chars[i + 1] === '_')) re += chars[++i];
    else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'su').test(text);
}

describe('compileLike', () => {
  it('matches literals, % and _', () => {
    expect(like('abc', 'abc')).toBe(true);
    expect(like('abcd', 'abc')).toBe(false);
    expect(like('abc', 'a%c')).toBe(true);
    expect(like('ac', 'a%c')).toBe(true);
    expect(like('abc', 'a_c')).toBe(true);
    expect(like('ac', 'a_c')).toBe(false);
    expect(like('', '%')).toBe(true);
    expect(like('', '')).toBe(true);
    expect(like('x', '')).toBe(false);
  });

  it('uses fast paths for prefix, suffix and contains with the same answers', () => {
    expect(like('https://x', 'https://%')).toBe(true);
    expect(like('http://x', 'https://%')).toBe(false);
    expect(like('com.github.error', '%.error')).toBe(true);
    expect(like('a.error.b', '%.error')).toBe(false);
    expect(like('a.error.b', '%error%')).toBe(true);
    expect(like('abc', '%%%')).toBe(true);
  });

  it('treats \\% and \\_ as literals and any other backslash as itself', () => {
    expect(like('a%b', String.raw`a\%b`)).toBe(true);
    expect(like('axb', String.raw`a\%b`)).toBe(false);
    expect(like('a_b', String.raw`a\_b`)).toBe(true);
    expect(like('axb', String.raw`a\_b`)).toBe(false);
    expect(like(String.raw`ab\c`, String.raw`ab\c`)).toBe(true);
    expect(like('abc', String.raw`ab\c`)).toBe(false);
  });

  it('is case-sensitive and lets _ match one code point, newlines included', () => {
    expect(like('aBc', 'abc')).toBe(false);
    expect(like('a😀c', 'a_c')).toBe(true);
    expect(like('a😀c', 'a__c')).toBe(false);
    expect(like('a\nc', 'a_c')).toBe(true);
    expect(like('😀x😀', '%x_')).toBe(true);
  });

  it('is not exponential on adversarial patterns', () => {
    const text = 'a'.repeat(5000);
    const started = performance.now();
    expect(like(text, '%a%a%a%a%a%a%a%a%b')).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('agrees with a regular-expression reference (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '%', '_', '\\', '😀');
    const str = fc.array(alphabet, { maxLength: 10 }).map((a) => a.join(''));
    fc.assert(
      fc.property(str, str, (text, pattern) => {
        expect(like(text, pattern)).toBe(reference(text, pattern));
      }),
      { numRuns: 3000 },
    );
  });
});
