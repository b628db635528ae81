import type { CesqlError } from './errors.ts';

/** A CESQL value: String, Integer (a 32-bit signed integer held in a JS number) or Boolean. */
export type CesqlValue = string | number | boolean;

/** Static type of a node or parameter; `any` is used by the casting functions that accept every type. */
export type CesqlType = 'string' | 'integer' | 'boolean' | 'any';

export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;

/** The zero value of each type (§3.1), returned by an operator or function whose operands failed. */
export function zeroOf(type: CesqlType): CesqlValue {
  return type === 'string' ? '' : type === 'integer' ? 0 : false;
}

/**
 * Per-evaluation state. `errors` stays `null` until the first error so a clean evaluation allocates nothing
 * but this object; operators read it after evaluating an operand to stop early (fail-fast, spec §4.1).
 */
export class EvalContext {
  attrs: Readonly<Record<string, unknown>>;
  errors: CesqlError[] | null = null;

  constructor(attrs: Readonly<Record<string, unknown>>) {
    this.attrs = attrs;
  }

  fail(error: CesqlError): void {
    if (this.errors === null) this.errors = [error];
    else this.errors.push(error);
  }
}
