import { attributeMapPredicate } from './string-match.ts';
import type { Predicate } from './types.ts';

/** `prefix`: the attribute is present and starts with the value (case-sensitive). */
export function prefixFilter(map: Readonly<Record<string, string>>): Predicate {
  return attributeMapPredicate(map, (value, wanted) => value.startsWith(wanted));
}
