import { evalError } from './errors.ts';
import { type CesqlValue, type EvalContext, INT32_MAX, INT32_MIN } from './values.ts';

/*
 * Casting rules (§3.7). A failed cast records a cast error and yields the zero value of the target type; the
 * operator that asked for the cast then computes with that zero value (the TCK's `NOT 10` is `true` + cast error).
 *
 * One deliberate asymmetry, required by the TCK: Integer -> Boolean is only allowed explicitly (`BOOL(5)` is
 * `true`); as an implicit cast (`NOT 10`, `TRUE AND 1`) it is a cast error.
 */

const INTEGER_TEXT = /^[+-]?[0-9]+$/;

const STRING_TO_INT = evalError('cast', 'cannot cast String to Integer: not a 32-bit base-10 integer');
const STRING_TO_BOOL = evalError('cast', 'cannot cast String to Boolean: expected "true" or "false"');
const INT_TO_BOOL = evalError('cast', 'cannot implicitly cast Integer to Boolean (use BOOL())');

/** Parses a 32-bit base-10 integer with an optional sign; `undefined` when invalid or out of range. */
export function parseInt32(text: string): number | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const n = Number(text);
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

export function castToString(v: CesqlValue): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v ? 'true' : 'false';
}

export function castToInteger(v: CesqlValue, c: EvalContext): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = parseInt32(v);
  if (n === undefined) {
    c.fail(STRING_TO_INT);
    return 0;
  }
  return n;
}

function stringToBoolean(v: string, c: EvalContext): boolean {
  // Lower-casing only when needed keeps the common exact spellings allocation-free.
  if (v === 'true') return true;
  if (v === 'false') return false;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  c.fail(STRING_TO_BOOL);
  return false;
}

/** Implicit cast to Boolean, as operators do it. */
export function castToBoolean(v: CesqlValue, c: EvalContext): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return stringToBoolean(v, c);
  c.fail(INT_TO_BOOL);
  return false;
}

/** Explicit cast to Boolean (the `BOOL` function): Integer is allowed, non-zero is `true`. */
export function explicitToBoolean(v: CesqlValue, c: EvalContext): boolean {
  if (typeof v === 'number') return v !== 0;
  return castToBoolean(v, c);
}

/** Whether `v` casts to Integer without error (the `IS_INT` function). */
export function isIntegerLike(v: CesqlValue): boolean {
  return typeof v === 'number' || (typeof v === 'string' && parseInt32(v) !== undefined);
}

/** Whether `v` casts to Boolean without error (the `IS_BOOL` function). */
export function isBooleanLike(v: CesqlValue): boolean {
  if (typeof v === 'boolean') return true;
  if (typeof v !== 'string') return false;
  const lower = v.toLowerCase();
  return lower === 'true' || lower === 'false';
}
