import type { Predicate } from './types.ts';

/** `not`: the nested filter does not match. As in Knative, the negation of "no filter" is still "no filter". */
export function notFilter(predicate: Predicate): Predicate {
  if (predicate === null) return null;
  return (event) => !predicate(event);
}
