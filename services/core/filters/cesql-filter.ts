import { type CesqlCompileOptions, compileCesql } from './cesql/index.ts';
import type { Predicate } from './types.ts';

/**
 * `cesql`: matches when the expression evaluates to the Boolean `true` with no error (CESQL §1.2), so a missing
 * attribute, a failed cast or a non-Boolean result never matches. An empty expression is "no filter", as in
 * Knative. Throws `CesqlParseError` for an invalid expression.
 */
export function cesqlFilter(expression: string, options?: CesqlCompileOptions): Predicate {
  if (expression === '') return null;
  const compiled = compileCesql(expression, options);
  return (event) => compiled.matches(event);
}
