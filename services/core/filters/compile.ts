import { InvalidResourceError } from '../errors.ts';
import { allFilter } from './all.ts';
import { anyFilter } from './any.ts';
import { cesqlFilter } from './cesql-filter.ts';
import { exactFilter } from './exact.ts';
import { legacyAttributesFilter } from './legacy-attributes.ts';
import { notFilter } from './not.ts';
import { prefixFilter } from './prefix.ts';
import { suffixFilter } from './suffix.ts';
import type { Filter, FilterIssue, Predicate, SubscriptionsApiFilter, TriggerFilterSpec } from './types.ts';
import { validateTriggerFilter } from './validate.ts';

/** A Trigger's filter spec is invalid; `issues` lists every problem with its path (status 422). */
export class FilterValidationError extends InvalidResourceError {
  constructor(issues: readonly FilterIssue[]) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
  }
}

const MATCH_ALL: Filter = Object.freeze({ match: () => true });

/** Compiles one `filters` element (assumed valid) into a predicate; `null` is "no filter". */
export function compileSubscriptionsApiFilter(f: SubscriptionsApiFilter): Predicate {
  if (f.exact && Object.keys(f.exact).length > 0) return exactFilter(f.exact);
  if (f.prefix && Object.keys(f.prefix).length > 0) return prefixFilter(f.prefix);
  if (f.suffix && Object.keys(f.suffix).length > 0) return suffixFilter(f.suffix);
  if (f.all && f.all.length > 0) return allFilter(f.all.map(compileSubscriptionsApiFilter));
  if (f.any && f.any.length > 0) return anyFilter(f.any.map(compileSubscriptionsApiFilter));
  if (f.not) return notFilter(compileSubscriptionsApiFilter(f.not));
  if (f.cesql) return cesqlFilter(f.cesql);
  return null;
}

/**
 * Compiles a Trigger's filters once, for per-event matching by the router (Knative semantics):
 * - a non-empty `spec.filters` (ANDed) replaces `spec.filter`; otherwise the legacy `spec.filter.attributes`
 *   applies; with neither, every event matches;
 * - attribute values are compared in their string form (`attributeString`), case-sensitively;
 * - an empty dialect (`{}`, `exact: {}`, `any: []`, `cesql: ""`, or a map with an empty value) is "no filter":
 *   it matches, is ignored inside all/any, and `not` of it is still "no filter";
 * - a `cesql` expression matches only when it evaluates to `true` without error.
 *
 * @throws FilterValidationError when `validateTriggerFilter` reports any issue; its message names each path,
 *   e.g. `spec.filters[1].cesql: parse error at 7: ...`.
 */
export function compileTriggerFilter(spec: TriggerFilterSpec): Filter {
  const issues = validateTriggerFilter(spec);
  if (issues.length > 0) throw new FilterValidationError(issues);
  const predicate =
    spec.filters && spec.filters.length > 0
      ? allFilter(spec.filters.map(compileSubscriptionsApiFilter))
      : legacyAttributesFilter(spec.filter?.attributes);
  return predicate === null ? MATCH_ALL : { match: predicate };
}
