/**
 * The error kinds of CESQL v1 (§3.3). Every kind maps to one TCK `error` value, so tests and callers can compare
 * the kind directly.
 */
export type CesqlErrorKind =
  | 'parse'
  | 'math'
  | 'cast'
  | 'missingFunction'
  | 'functionEvaluation'
  | 'missingAttribute'
  | 'generic';

/**
 * An error collected while evaluating an expression. Evaluation errors are plain frozen objects rather than
 * `Error` instances: they are produced on the router's hot path (a missing extension is an everyday event), and
 * capturing a stack trace for each would cost more than the whole evaluation.
 */
export interface CesqlError {
  readonly kind: CesqlErrorKind;
  readonly message: string;
}

export function evalError(kind: Exclude<CesqlErrorKind, 'parse'>, message: string): CesqlError {
  return Object.freeze({ kind, message });
}

/**
 * The expression is not valid CESQL. Thrown by `compileCesql`; `position` is the 0-based character offset in the
 * expression where the problem was found (the end of the text for "unexpected end"), and the message reads
 * `parse error at <position>: <detail>`.
 */
export class CesqlParseError extends Error implements CesqlError {
  readonly kind = 'parse' as const;
  readonly position: number;
  readonly detail: string;

  constructor(position: number, detail: string) {
    super(`parse error at ${position}: ${detail}`);
    this.name = 'CesqlParseError';
    this.position = position;
    this.detail = detail;
  }
}
