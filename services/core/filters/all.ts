import type { Predicate } from './types.ts';

/** `all` (and the top-level `filters` list): every filter matches; "no filter" entries are dropped. */
export function allFilter(predicates: readonly Predicate[]): Predicate {
  const active = predicates.filter((p) => p !== null);
  if (active.length === 0) return null;
  if (active.length === 1) return active[0]!;
  if (active.length === 2) {
    const [a, b] = active as [NonNullable<Predicate>, NonNullable<Predicate>];
    return (event) => a(event) && b(event);
  }
  return (event) => {
    for (const p of active) if (!p(event)) return false;
    return true;
  };
}
