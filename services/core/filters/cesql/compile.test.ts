import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CeAttributeValue } from '../../cloudevent.ts';
import { testEvent } from '../testing.ts';
import { compileCesql } from './compile.ts';

const run = (expr: string, extra: Record<string, CeAttributeValue | undefined> = {}) => {
  const { value, errors } = compileCesql(expr).evaluate(testEvent(extra));
  return { value, errors: errors.map((e) => e.kind) };
};

describe('compileCesql evaluation', () => {
  it('compiles once and evaluates per event', () => {
    const expr = compileCesql("type = 'a' AND INT(seq) > 2");
    expect(expr.source).toBe("type = 'a' AND INT(seq) > 2");
    expect(expr.matches(testEvent({ type: 'a', seq: '3' }))).toBe(true);
    expect(expr.matches(testEvent({ type: 'a', seq: '2' }))).toBe(false);
    expect(expr.matches(testEvent({ type: 'b', seq: '3' }))).toBe(false);
    expect(expr.matches(testEvent({ type: 'a' }))).toBe(false);
  });

  it('keeps typed extensions typed and shows other numbers as strings', () => {
    expect(run('n + 1', { n: 41 }).value).toBe(42);
    expect(run('flag AND TRUE', { flag: true }).value).toBe(true);
    expect(run('big', { big: 2 ** 40 }).value).toBe(String(2 ** 40));
    expect(run('ratio', { ratio: 0.5 }).value).toBe('0.5');
  });

  it('treats inherited object members as missing attributes', () => {
    expect(run('constructor')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('EXISTS tostring OR EXISTS constructor').value).toBe(false);
  });

  it('wraps 32-bit overflow and reports a math error', () => {
    expect(run('2147483647 + 1')).toEqual({ value: -2147483648, errors: ['math'] });
    expect(run('-2147483648 - 1')).toEqual({ value: 2147483647, errors: ['math'] });
    expect(run('65536 * 65536')).toEqual({ value: 0, errors: ['math'] });
    expect(run('-2147483648 / -1')).toEqual({ value: -2147483648, errors: ['math'] });
    expect(run('-(-2147483648)')).toEqual({ value: -2147483648, errors: ['math'] });
    expect(run('-2147483648 % -1')).toEqual({ value: 0, errors: [] });
    expect(run('2147483647 * -1')).toEqual({ value: -2147483647, errors: [] });
  });

  it('truncates division toward zero, the remainder following the dividend', () => {
    expect(run('-7 / 2').value).toBe(-3);
    expect(run('7 / -2').value).toBe(-3);
    expect(run('-7 % 2').value).toBe(-1);
    expect(run('7 % -2').value).toBe(1);
    expect(Object.is(run('-1 / 5').value, 0)).toBe(true);
  });

  it('casts the left side of = to the right side type, and IN elements to the left type', () => {
    expect(run('seq = 5', { seq: '5' }).value).toBe(true);
    expect(run('5 = seq', { seq: '5' }).value).toBe(true);
    expect(run("'abc' = 5")).toEqual({ value: false, errors: ['cast'] });
    expect(run("'x' IN (1)")).toEqual({ value: false, errors: [] });
    expect(run("1 IN ('x')")).toEqual({ value: false, errors: ['cast'] });
    expect(run("'1' NOT IN (2, 3)").value).toBe(true);
  });

  it('casts comparison operands to Integer', () => {
    expect(run("'10' > '9'").value).toBe(true);
    expect(run('TRUE > FALSE').value).toBe(true);
    expect(run("'a' < 1")).toEqual({ value: false, errors: ['cast'] });
  });

  it('stops at the first error and returns zero values above it', () => {
    expect(run('missing OR TRUE')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('TRUE OR missing')).toEqual({ value: true, errors: [] });
    expect(run('NOT (missing = 1)')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run("CONCAT('a', missing)")).toEqual({ value: '', errors: ['missingAttribute'] });
    expect(run('1 IN (2, missing, 1)')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('missing1 = missing2')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('TRUE XOR missing')).toEqual({ value: false, errors: ['missingAttribute'] });
    expect(run('1 / 0 + 1')).toEqual({ value: 0, errors: ['math'] });
  });

  it('evaluates XOR on both sides and reports an implicit Integer -> Boolean cast', () => {
    expect(run('TRUE XOR FALSE').value).toBe(true);
    expect(run('TRUE AND 1')).toEqual({ value: false, errors: ['cast'] });
  });

  it('matches only a Boolean true without errors', () => {
    expect(compileCesql("'true'").matches(testEvent())).toBe(false);
    expect(compileCesql('1').matches(testEvent())).toBe(false);
    expect(compileCesql('NOT 10').matches(testEvent())).toBe(false);
    expect(compileCesql('TRUE').matches(testEvent())).toBe(true);
  });

  it('agrees with BigInt arithmetic for + - * / % (property)', () => {
    const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
    const op = fc.constantFrom('+', '-', '*', '/', '%');
    fc.assert(
      fc.property(int32, op, int32, (a, o, b) => {
        const { value, errors } = compileCesql(`a ${o} b`).evaluate(testEvent({ a, b }));
        const [x, y] = [BigInt(a), BigInt(b)];
        if ((o === '/' || o === '%') && y === 0n) {
          expect({ value, errors: errors.map((e) => e.kind) }).toEqual({ value: 0, errors: ['math'] });
          return;
        }
        const exact = o === '+' ? x + y : o === '-' ? x - y : o === '*' ? x * y : o === '/' ? x / y : x % y;
        expect(value).toBe(Number(BigInt.asIntN(32, exact)));
        const overflow = exact !== BigInt.asIntN(32, exact);
        expect(errors.map((e) => e.kind)).toEqual(overflow ? ['math'] : []);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws while evaluating any parsable expression (property)', () => {
    const atom = fc.constantFrom('1', '0', '-3', "'a'", "'12'", 'TRUE', 'x', 'missing', 'LENGTH(x)', "LEFT('ab', y)");
    const binary = fc.constantFrom('+', '-', '*', '/', '%', '=', '<>', '<', '>=', 'AND', 'OR', 'XOR');
    const expr = fc.letrec((tie) => ({
      e: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        atom,
        fc.tuple(tie('e'), binary, tie('e')).map(([l, o, r]) => `(${l} ${o} ${r})`),
        tie('e').map((e) => `NOT ${e}`),
        tie('e').map((e) => `-${e}`),
        tie('e').map((e) => `(${e} LIKE 'a%')`),
        fc.tuple(tie('e'), tie('e')).map(([l, r]) => `(${l} IN (${r}, 1))`),
      ),
    })).e;
    fc.assert(
      fc.property(expr, (source) => {
        const { value, errors } = compileCesql(source).evaluate(testEvent({ x: '5', y: 1 }));
        expect(['string', 'number', 'boolean']).toContain(typeof value);
        if (typeof value === 'number') expect(Number.isInteger(value) && value === (value | 0)).toBe(true);
        expect(errors.every((e) => typeof e.kind === 'string')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
