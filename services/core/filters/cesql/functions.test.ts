import { describe, expect, it } from 'vitest';
import { testEvent } from '../testing.ts';
import { compileCesql } from './compile.ts';
import type { CesqlFunction } from './functions.ts';

const run = (expr: string, functions?: CesqlFunction[]) => {
  const { value, errors } = compileCesql(expr, { functions }).evaluate(testEvent({ myext: 'ÀbC 😀', n: '7' }));
  return { value, errors: errors.map((e) => e.kind) };
};

describe('built-in functions', () => {
  it('count and slice by code point', () => {
    expect(run("LENGTH('a😀b')").value).toBe(3);
    expect(run("LEFT('😀😀x', 2)").value).toBe('😀😀');
    expect(run("RIGHT('x😀😀', 2)").value).toBe('😀😀');
    expect(run("SUBSTRING('a😀bc', 2, 2)").value).toBe('😀b');
    expect(run("SUBSTRING('a😀bc', -1)").value).toBe('c');
  });

  it('cast arguments to the parameter types', () => {
    expect(run('LENGTH(12345)').value).toBe(5);
    expect(run("LEFT('abcdef', n)").value).toBe('abcdef');
    expect(run("LEFT('abcdef', '3')").value).toBe('abc');
    expect(run("CONCAT(1, TRUE, 'x')").value).toBe('1truex');
  });

  it('return the zero value when an argument cannot be cast', () => {
    expect(run("LEFT('abc', 'x')")).toEqual({ value: '', errors: ['cast'] });
  });

  it('handle case, trimming and separators', () => {
    expect(run('LOWER(myext)').value).toBe('àbc 😀');
    expect(run('upper(myext)').value).toBe('ÀBC 😀');
    expect(run("TRIM('\u00a0\t x y \u2003\n')").value).toBe('x y');
    expect(run("CONCAT_WS('-', 'a', 'b')").value).toBe('a-b');
    expect(run("CONCAT_WS(1, 'a', 'b')").value).toBe('a1b');
  });

  it('check SUBSTRING bounds and length', () => {
    expect(run("SUBSTRING('abc', 3)").value).toBe('c');
    expect(run("SUBSTRING('abc', -3)").value).toBe('abc');
    expect(run("SUBSTRING('abc', 2, 0)").value).toBe('');
    expect(run("SUBSTRING('abc', 2, -1)")).toEqual({ value: '', errors: ['functionEvaluation'] });
    expect(run("SUBSTRING('', 1)")).toEqual({ value: '', errors: ['functionEvaluation'] });
  });

  it('provide casting predicates', () => {
    expect(run("IS_INT('12') AND IS_INT(3) AND NOT IS_INT('1.5')").value).toBe(true);
    expect(run("IS_BOOL('TRUE') AND IS_BOOL(FALSE) AND NOT IS_BOOL(1)").value).toBe(true);
    expect(run("IS_STRING('1') AND NOT IS_STRING(1) AND IS_STRING(myext)").value).toBe(true);
    expect(run('BOOL(0) OR BOOL(-1)').value).toBe(true);
  });

  it('report a missing function or arity as missingFunction with false', () => {
    expect(run('NOPE(1)')).toEqual({ value: false, errors: ['missingFunction'] });
    expect(run("LENGTH('a', 'b')")).toEqual({ value: false, errors: ['missingFunction'] });
    expect(run('SUBSTRING()')).toEqual({ value: false, errors: ['missingFunction'] });
  });

  it('skip the call when an argument failed', () => {
    expect(run('LENGTH(missing)')).toEqual({ value: 0, errors: ['missingAttribute'] });
    expect(run('UPPER(missing)')).toEqual({ value: '', errors: ['missingAttribute'] });
  });
});

describe('user-defined functions', () => {
  const hasPrefix: CesqlFunction = {
    name: 'HASPREFIX',
    params: ['string', 'string'],
    returns: 'boolean',
    call: ([s, p]) => (s as string).startsWith(p as string),
  };
  const broken: CesqlFunction = {
    name: 'BROKEN',
    params: [],
    returns: 'integer',
    call: () => {
      throw new Error('boom');
    },
  };
  const liar: CesqlFunction = { name: 'LIAR', params: [], returns: 'integer', call: () => 'not a number' };

  it('are called with cast arguments', () => {
    expect(run("hasprefix(source, '/s')", [hasPrefix])).toEqual({ value: true, errors: [] });
  });

  it('override a built-in of the same name and arity', () => {
    const len: CesqlFunction = { name: 'LENGTH', params: ['string'], returns: 'integer', call: () => 42 };
    expect(run("LENGTH('a')", [len]).value).toBe(42);
    expect(run("LENGTH('a')").value).toBe(1);
  });

  it('turn a throw or a wrongly typed result into functionEvaluation with the zero value', () => {
    expect(run('BROKEN()', [broken])).toEqual({ value: 0, errors: ['functionEvaluation'] });
    expect(run('LIAR()', [liar])).toEqual({ value: 0, errors: ['functionEvaluation'] });
  });
});
