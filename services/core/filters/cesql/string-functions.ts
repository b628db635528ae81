import { castToString } from './casting.ts';
import { evalError } from './errors.ts';
import type { CesqlFunction } from './functions.ts';
import type { CesqlValue, EvalContext } from './values.ts';

/*
 * String functions count characters as Unicode code points, as the spec's "character length" reads. Strings
 * without surrogate pairs (nearly all attribute values) take the plain UTF-16 path.
 */

const SURROGATE = /[\uD800-\uDFFF]/;
const EDGE_WHITESPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

const LEFT_NEGATIVE = evalError('functionEvaluation', 'LEFT: the length must not be negative');
const RIGHT_NEGATIVE = evalError('functionEvaluation', 'RIGHT: the length must not be negative');
const SUBSTRING_POSITION = evalError('functionEvaluation', 'SUBSTRING: the position is outside the string');
const SUBSTRING_LENGTH = evalError('functionEvaluation', 'SUBSTRING: the length must not be negative');

function length(s: string): number {
  return SURROGATE.test(s) ? Array.from(s).length : s.length;
}

/** Code-point slice with `slice` semantics for non-negative bounds. */
function slice(s: string, start: number, end?: number): string {
  if (!SURROGATE.test(s)) return s.slice(start, end);
  return Array.from(s).slice(start, end).join('');
}

const str = (v: CesqlValue | undefined) => v as string;
const int = (v: CesqlValue | undefined) => v as number;

function substring(x: string, pos: number, len: number | undefined, c: EvalContext): string {
  const n = length(x);
  if (pos > n || pos < -n) {
    c.fail(SUBSTRING_POSITION);
    return '';
  }
  if (len !== undefined && len < 0) {
    c.fail(SUBSTRING_LENGTH);
    return '';
  }
  if (pos === 0) return '';
  const start = pos > 0 ? pos - 1 : n + pos;
  return slice(x, start, len === undefined ? undefined : start + len);
}

export const STRING_FUNCTIONS: readonly CesqlFunction[] = [
  { name: 'LENGTH', params: ['string'], returns: 'integer', call: ([x]) => length(str(x)) },
  {
    name: 'CONCAT',
    params: [],
    variadic: 'string',
    returns: 'string',
    call: (args) => (args as string[]).join(''),
  },
  {
    name: 'CONCAT_WS',
    params: ['string'],
    variadic: 'string',
    returns: 'string',
    call: ([sep, ...rest]) => (rest as string[]).join(castToString(sep!)),
  },
  { name: 'LOWER', params: ['string'], returns: 'string', call: ([x]) => str(x).toLowerCase() },
  { name: 'UPPER', params: ['string'], returns: 'string', call: ([x]) => str(x).toUpperCase() },
  { name: 'TRIM', params: ['string'], returns: 'string', call: ([x]) => str(x).replace(EDGE_WHITESPACE, '') },
  {
    name: 'LEFT',
    params: ['string', 'integer'],
    returns: 'string',
    call: ([x, y], c) => {
      if (int(y) >= 0) return slice(str(x), 0, int(y));
      c.fail(LEFT_NEGATIVE);
      return str(x);
    },
  },
  {
    name: 'RIGHT',
    params: ['string', 'integer'],
    returns: 'string',
    call: ([x, y], c) => {
      if (int(y) < 0) {
        c.fail(RIGHT_NEGATIVE);
        return str(x);
      }
      const n = length(str(x));
      return slice(str(x), Math.max(0, n - int(y)));
    },
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer'],
    returns: 'string',
    call: ([x, pos], c) => substring(str(x), int(pos), undefined, c),
  },
  {
    name: 'SUBSTRING',
    params: ['string', 'integer', 'integer'],
    returns: 'string',
    call: ([x, pos, len], c) => substring(str(x), int(pos), int(len), c),
  },
];
