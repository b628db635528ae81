import { attributeMapPredicate } from './string-match.ts';
import type { Predicate } from './types.ts';

/** `suffix`: the attribute is present and ends with the value (case-sensitive). */
export function suffixFilter(map: Readonly<Record<string, string>>): Predicate {
  return attributeMapPredicate(map, (value, wanted) => value.endsWith(wanted));
}
