import {
  castToString,
  explicitToBoolean,
  castToInteger as explicitToInteger,
  isBooleanLike,
  isIntegerLike,
} from './casting.ts';
import { evalError } from './errors.ts';
import { STRING_FUNCTIONS } from './string-functions.ts';
import { type CesqlType, type CesqlValue, type EvalContext, INT32_MAX, INT32_MIN } from './values.ts';

/**
 * A function callable from CESQL. Arguments arrive already cast to `params` (and `variadic` for the rest), so an
 * implementation only handles its own failures: it reports them with `c.fail(...)` and still returns a value of
 * its return type (§3.5.3).
 */
export interface CesqlFunction {
  /** Upper-case name; calls are case-insensitive. */
  readonly name: string;
  /** Types of the fixed parameters. */
  readonly params: readonly CesqlType[];
  /** Type of any further arguments; absent for a fixed-arity function. */
  readonly variadic?: CesqlType;
  readonly returns: Exclude<CesqlType, 'any'>;
  call(args: CesqlValue[], c: EvalContext): CesqlValue;
}

const ABS_OVERFLOW = evalError('math', 'ABS(-2147483648) overflows a 32-bit integer');

const CASTING_AND_MATH: readonly CesqlFunction[] = [
  { name: 'INT', params: ['any'], returns: 'integer', call: ([v], c) => explicitToInteger(v!, c) },
  { name: 'BOOL', params: ['any'], returns: 'boolean', call: ([v], c) => explicitToBoolean(v!, c) },
  { name: 'STRING', params: ['any'], returns: 'string', call: ([v]) => castToString(v!) },
  { name: 'IS_INT', params: ['any'], returns: 'boolean', call: ([v]) => isIntegerLike(v!) },
  { name: 'IS_BOOL', params: ['any'], returns: 'boolean', call: ([v]) => isBooleanLike(v!) },
  { name: 'IS_STRING', params: ['any'], returns: 'boolean', call: ([v]) => typeof v === 'string' },
  {
    name: 'ABS',
    params: ['integer'],
    returns: 'integer',
    call: ([v], c) => {
      const n = v as number;
      if (n !== INT32_MIN) return Math.abs(n);
      c.fail(ABS_OVERFLOW);
      return INT32_MAX;
    },
  },
];

/**
 * The built-in functions: the spec's string and math functions (§3.5), the casting functions the TCK uses
 * (INT, BOOL, STRING), and IS_INT / IS_BOOL / IS_STRING as in the CloudEvents SDKs (whether the value casts to
 * Integer / Boolean without error; whether it is a String).
 */
export const BUILTIN_FUNCTIONS: readonly CesqlFunction[] = [...CASTING_AND_MATH, ...STRING_FUNCTIONS];

/** Functions by name, resolved by arity at compile time. */
export class FunctionRegistry {
  private readonly byName = new Map<string, CesqlFunction[]>();

  constructor(functions: Iterable<CesqlFunction>) {
    for (const fn of functions) {
      const name = fn.name.toUpperCase();
      const list = this.byName.get(name) ?? [];
      list.push(fn);
      this.byName.set(name, list);
    }
  }

  /** A fixed-arity overload wins over a variadic one; `undefined` is a missing function. */
  resolve(name: string, arity: number): CesqlFunction | undefined {
    const overloads = this.byName.get(name.toUpperCase());
    if (overloads === undefined) return undefined;
    return (
      overloads.find((f) => f.variadic === undefined && f.params.length === arity) ??
      overloads.find((f) => f.variadic !== undefined && f.params.length <= arity)
    );
  }
}

export const BUILTIN_REGISTRY = new FunctionRegistry(BUILTIN_FUNCTIONS);
