import type { Predicate } from './types.ts';

/** `any`: at least one filter matches; "no filter" entries are dropped, and an empty list is "no filter". */
export function anyFilter(predicates: readonly Predicate[]): Predicate {
  const active = predicates.filter((p) => p !== null);
  if (active.length === 0) return null;
  if (active.length === 1) return active[0]!;
  return (event) => {
    for (const p of active) if (p(event)) return true;
    return false;
  };
}
