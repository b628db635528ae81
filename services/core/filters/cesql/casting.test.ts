import { describe, expect, it } from 'vitest';
import {
  castToBoolean,
  castToInteger,
  castToString,
  explicitToBoolean,
  isBooleanLike,
  isIntegerLike,
  parseInt32,
} from './casting.ts';
import { EvalContext } from './values.ts';

const ctx = () => new EvalContext({});
const kinds = (c: EvalContext) => (c.errors ?? []).map((e) => e.kind);

describe('casting', () => {
  it('parses 32-bit integers with an optional sign, nothing else', () => {
    expect(parseInt32('+42')).toBe(42);
    expect(parseInt32('-2147483648')).toBe(-2147483648);
    expect(parseInt32('2147483647')).toBe(2147483647);
    expect(parseInt32('007')).toBe(7);
    for (const bad of ['2147483648', '-2147483649', ' 1', '1 ', '1.0', '0x10', '', '+', '1e3']) {
      expect(parseInt32(bad), bad).toBeUndefined();
    }
  });

  it('casts to String in base 10 and lower-case booleans', () => {
    expect(castToString(-12)).toBe('-12');
    expect(castToString(true)).toBe('true');
    expect(castToString(false)).toBe('false');
  });

  it('casts to Integer, recording a cast error and yielding 0 on failure', () => {
    const c = ctx();
    expect(castToInteger(true, c)).toBe(1);
    expect(castToInteger(false, c)).toBe(0);
    expect(castToInteger('-5', c)).toBe(-5);
    expect(c.errors).toBeNull();
    expect(castToInteger('five', c)).toBe(0);
    expect(kinds(c)).toEqual(['cast']);
  });

  it('casts strings to Boolean case-insensitively', () => {
    const c = ctx();
    expect(castToBoolean('TRUE', c)).toBe(true);
    expect(castToBoolean('False', c)).toBe(false);
    expect(c.errors).toBeNull();
    expect(castToBoolean('yes', c)).toBe(false);
    expect(kinds(c)).toEqual(['cast']);
  });

  it('allows Integer -> Boolean only explicitly', () => {
    const implicit = ctx();
    expect(castToBoolean(10, implicit)).toBe(false);
    expect(kinds(implicit)).toEqual(['cast']);
    const explicit = ctx();
    expect(explicitToBoolean(10, explicit)).toBe(true);
    expect(explicitToBoolean(0, explicit)).toBe(false);
    expect(explicit.errors).toBeNull();
  });

  it('answers IS_INT / IS_BOOL questions', () => {
    expect([isIntegerLike(1), isIntegerLike('12'), isIntegerLike('1.5'), isIntegerLike(true)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect([isBooleanLike(false), isBooleanLike('TrUe'), isBooleanLike('1'), isBooleanLike(1)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});
