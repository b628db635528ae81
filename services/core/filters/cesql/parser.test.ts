import { describe, expect, it } from 'vitest';
import type { CesqlNode } from './ast.ts';
import { CesqlParseError } from './errors.ts';
import { parseCesql } from './parser.ts';

/** Renders a tree in prefix form to compare shapes, e.g. `(AND a (= b 1))`. */
function show(n: CesqlNode): string {
  switch (n.kind) {
    case 'literal':
      return JSON.stringify(n.value);
    case 'attribute':
      return n.name;
    case 'exists':
      return `(EXISTS ${n.name})`;
    case 'not':
      return `(NOT ${show(n.operand)})`;
    case 'negate':
      return `(- ${show(n.operand)})`;
    case 'like':
      return `(${n.negated ? 'NOT LIKE' : 'LIKE'} ${show(n.operand)} ${JSON.stringify(n.pattern)})`;
    case 'in':
      return `(${n.negated ? 'NOT IN' : 'IN'} ${show(n.operand)} ${n.set.map(show).join(' ')})`;
    case 'call':
      return `${n.name}(${n.args.map(show).join(' ')})`;
    default:
      return `(${n.op} ${show(n.left)} ${show(n.right)})`;
  }
}

const tree = (s: string) => show(parseCesql(s));

function parseError(s: string): CesqlParseError {
  try {
    parseCesql(s);
  } catch (err) {
    if (err instanceof CesqlParseError) return err;
    throw err;
  }
  throw new Error(`expected a parse error for ${s}`);
}

describe('parseCesql precedence (official grammar)', () => {
  it('multiplies before adding and compares last', () => {
    expect(tree('1 + 2 * 3 = 7')).toBe('(= (+ 1 (* 2 3)) 7)');
    expect(tree('8 - 4 - 2')).toBe('(- (- 8 4) 2)');
  });

  it('groups AND / OR / XOR at one level, to the right', () => {
    expect(tree('a AND b OR c')).toBe('(AND a (OR b c))');
    expect(tree('a OR b AND c XOR d')).toBe('(OR a (AND b (XOR c d)))');
    expect(tree('(a AND b) OR c')).toBe('(OR (AND a b) c)');
  });

  it('binds NOT and unary minus to a single primary', () => {
    expect(tree('NOT a = b')).toBe('(= (NOT a) b)');
    expect(tree('NOT (a = b)')).toBe('(NOT (= a b))');
    expect(tree('- a * 2')).toBe('(* (- a) 2)');
    expect(tree('NOT EXISTS time')).toBe('(NOT (EXISTS time))');
  });

  it('binds LIKE and IN tighter than arithmetic and comparisons', () => {
    expect(tree("a = b LIKE 'x%'")).toBe('(= a (LIKE b "x%"))');
    expect(tree('a + b IN (1, 2)')).toBe('(+ a (IN b 1 2))');
    expect(tree("a NOT LIKE 'x' AND b NOT IN (c)")).toBe('(AND (NOT LIKE a "x") (NOT IN b c))');
  });

  it('folds a sign written against digits into the literal, else negates', () => {
    expect(tree('-2147483648')).toBe('-2147483648');
    expect(tree('- 5')).toBe('(- 5)');
    expect(tree('--10')).toBe('(- -10)');
    expect(tree('4 -1')).toBe('(- 4 1)');
    expect(tree('+7')).toBe('7');
  });

  it('lower-cases attribute names and upper-cases function names', () => {
    expect(tree('EXISTS SOURCE AND MyExt = concat_ws(",", a)')).toBe(
      '(AND (EXISTS source) (= myext CONCAT_WS("," a)))',
    );
    expect(tree('f()')).toBe('F()');
  });

  it('parses sets with any expressions', () => {
    expect(tree("x IN (1 + 1, 'a', y)")).toBe('(IN x (+ 1 1) "a" y)');
  });
});

describe('parseCesql errors', () => {
  it.each([
    ['ABC(', 4, 'expected an expression but found end of expression'],
    ['x LIKE 123', 7, "expected a string literal as LIKE pattern but found '123'"],
    ['x LIKE y', 7, "expected a string literal as LIKE pattern but found 'y'"],
    ['(1 + 2', 6, "expected ')' but found end of expression"],
    ['1 2', 2, "expected an operator or end of expression but found '2'"],
    ['a NOT b', 6, "expected LIKE or IN after NOT but found 'b'"],
    ['x IN ()', 6, "expected an expression but found ')'"],
    ['x IN 1', 5, "expected '(' but found '1'"],
    ['EXISTS 1', 7, "expected an attribute name but found '1'"],
    ['a_b = 1', 0, "expected an attribute name but found 'a_b'"],
    ['f1(2)', 0, 'invalid function name "f1"'],
    ['2147483648', 0, 'integer literal 2147483648 is out of the 32-bit range'],
    ['-2147483649', 0, 'integer literal -2147483649 is out of the 32-bit range'],
    ['', 0, 'expected an expression but found end of expression'],
    ['AND', 0, "expected an expression but found 'AND'"],
  ])('%j fails at %i', (source, position, detail) => {
    const err = parseError(source);
    expect(err.position).toBe(position);
    expect(err.detail).toBe(detail);
    expect(err.message).toBe(`parse error at ${position}: ${detail}`);
  });

  it('never throws anything but CesqlParseError on garbage', () => {
    for (const s of ['((((', ')', ',', "'", '"', 'NOT', '-', 'a IN (1,', 'LIKE', 'x NOT', 'f(,)', '1 +']) {
      expect(() => parseCesql(s), s).toThrow(CesqlParseError);
    }
  });
});
