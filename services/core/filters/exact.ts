import { attributeMapPredicate } from './string-match.ts';
import type { Predicate } from './types.ts';

/** `exact`: the attribute is present and equal to the value (case-sensitive). */
export function exactFilter(map: Readonly<Record<string, string>>): Predicate {
  return attributeMapPredicate(map, (value, wanted) => value === wanted);
}
