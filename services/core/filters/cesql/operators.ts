import type { ArithmeticOp, ComparisonOp, LogicOp } from './ast.ts';
import { castToBoolean, castToInteger, castToString } from './casting.ts';
import { evalError } from './errors.ts';
import { compileLike } from './like.ts';
import { type CesqlValue, type EvalContext, INT32_MAX, INT32_MIN } from './values.ts';

/** A compiled node: evaluates against the context, recording errors there. */
export type Evaluator = (c: EvalContext) => CesqlValue;

/*
 * Error discipline (fail-fast, spec §4.1, and what the TCK expects): once an operand recorded an error, the
 * operator stops and returns the zero value of its own return type, so `1 / missing` is `0` with only the
 * missing-attribute error and `true AND (1 != 1 / 0)` is `false`. An operator's own failure (a cast of its
 * operand, a division by zero) also yields its zero value, except NOT, which the TCK defines as negating the
 * failed cast's zero value (`NOT 10` is `true` with a cast error).
 */

const DIVISION_BY_ZERO = evalError('math', 'division by zero');
const MODULO_BY_ZERO = evalError('math', 'modulo by zero');
const OVERFLOW = evalError('math', 'integer overflow: the result does not fit in 32 bits');

/** Wraps to 32 bits like two's-complement hardware, recording a math error when the exact result did not fit. */
function int32(exact: number, wrapped: number, c: EvalContext): number {
  if (exact > INT32_MAX || exact < INT32_MIN) c.fail(OVERFLOW);
  return wrapped;
}

export function notOp(operand: Evaluator): Evaluator {
  return (c) => {
    const v = operand(c);
    if (c.errors !== null) return false;
    return !castToBoolean(v, c);
  };
}

export function negateOp(operand: Evaluator): Evaluator {
  return (c) => {
    const v = operand(c);
    if (c.errors !== null) return 0;
    const n = castToInteger(v, c);
    if (c.errors !== null) return 0;
    return int32(-n, (0 - n) | 0, c);
  };
}

const ARITHMETIC: Readonly<Record<ArithmeticOp, (a: number, b: number, c: EvalContext) => number>> = {
  '+': (a, b, c) => int32(a + b, (a + b) | 0, c),
  '-': (a, b, c) => int32(a - b, (a - b) | 0, c),
  '*': (a, b, c) => int32(a * b, Math.imul(a, b), c),
  '/': (a, b, c) => {
    if (b === 0) {
      c.fail(DIVISION_BY_ZERO);
      return 0;
    }
    const q = Math.trunc(a / b);
    return int32(q, q | 0, c);
  },
  '%': (a, b, c) => {
    if (b !== 0) return (a % b) | 0; // JS `%` already truncates: the sign follows the dividend
    c.fail(MODULO_BY_ZERO);
    return 0;
  },
};

export function arithmeticOp(op: ArithmeticOp, left: Evaluator, right: Evaluator): Evaluator {
  const apply = ARITHMETIC[op];
  return (c) => {
    const l = left(c);
    if (c.errors !== null) return 0;
    const r = right(c);
    if (c.errors !== null) return 0;
    const a = castToInteger(l, c);
    const b = castToInteger(r, c);
    if (c.errors !== null) return 0;
    return apply(a, b, c);
  };
}

/**
 * `=` is overloaded for every type, so the right operand's type decides and the left one is cast to it (§3.7:
 * `'TRUE' = true` is true, `true = 'TRUE'` is false).
 */
export function equals(l: CesqlValue, r: CesqlValue, c: EvalContext): boolean {
  if (typeof l === typeof r) return l === r;
  if (typeof r === 'string') return castToString(l) === r;
  if (typeof r === 'number') return castToInteger(l, c) === r;
  return castToBoolean(l, c) === r;
}

const ORDER: Readonly<Record<Exclude<ComparisonOp, '=' | '!='>, (a: number, b: number) => boolean>> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

export function comparisonOp(op: ComparisonOp, left: Evaluator, right: Evaluator): Evaluator {
  if (op === '=' || op === '!=') {
    const expected = op === '=';
    return (c) => {
      const l = left(c);
      if (c.errors !== null) return false;
      const r = right(c);
      if (c.errors !== null) return false;
      const eq = equals(l, r, c);
      return c.errors === null && eq === expected;
    };
  }
  const test = ORDER[op];
  return (c) => {
    const l = left(c);
    if (c.errors !== null) return false;
    const r = right(c);
    if (c.errors !== null) return false;
    const a = castToInteger(l, c);
    const b = castToInteger(r, c);
    return c.errors === null && test(a, b);
  };
}

/** AND and OR short-circuit (§3.4.2); XOR needs both sides. */
export function logicOp(op: LogicOp, left: Evaluator, right: Evaluator): Evaluator {
  const side = (e: Evaluator, c: EvalContext) => {
    const v = e(c);
    return c.errors === null && castToBoolean(v, c) && c.errors === null;
  };
  if (op === 'AND') return (c) => side(left, c) && side(right, c);
  if (op === 'OR') {
    return (c) => {
      if (side(left, c)) return true;
      return c.errors === null && side(right, c);
    };
  }
  return (c) => {
    const a = side(left, c);
    if (c.errors !== null) return false;
    const b = side(right, c);
    return c.errors === null && a !== b;
  };
}

export function likeOp(operand: Evaluator, pattern: string, negated: boolean): Evaluator {
  const match = compileLike(pattern);
  return (c) => {
    const v = operand(c);
    if (c.errors !== null) return false;
    return match(castToString(v)) !== negated;
  };
}

/** IN compares like `=` but with the left operand's type as the target (§3.7). */
export function inOp(operand: Evaluator, set: readonly Evaluator[], negated: boolean): Evaluator {
  return (c) => {
    const v = operand(c);
    if (c.errors !== null) return false;
    for (const element of set) {
      const e = element(c);
      if (c.errors !== null) return false;
      const eq = equals(e, v, c);
      if (c.errors !== null) return false;
      if (eq) return !negated;
    }
    return negated;
  };
}
