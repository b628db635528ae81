import type { CloudEvent } from '../cloudevent.ts';

/** A compiled trigger filter; `match` runs per event on the router's hot path. */
export interface Filter {
  match(event: CloudEvent): boolean;
}

/**
 * One element of a Trigger's `spec.filters` (Knative "new trigger filters", the CloudEvents Subscriptions API
 * dialects). Exactly one dialect may be set; an element with none matches every event.
 */
export type SubscriptionsApiFilter = {
  /** attribute → value; the attribute must be present and equal (case-sensitive). */
  exact?: Record<string, string>;
  /** attribute → prefix the attribute's value must start with. */
  prefix?: Record<string, string>;
  /** attribute → suffix the attribute's value must end with. */
  suffix?: Record<string, string>;
  /** Matches when every nested filter matches. */
  all?: SubscriptionsApiFilter[];
  /** Matches when at least one nested filter matches. */
  any?: SubscriptionsApiFilter[];
  /** Matches when the nested filter does not. */
  not?: SubscriptionsApiFilter;
  /** A CESQL v1 expression; matches when it evaluates to `true` without error. */
  cesql?: string;
};

/** The filtering part of a Trigger spec. */
export interface TriggerFilterSpec {
  /** Legacy filter: exact attribute values, ANDed; `""` means "present, any value". */
  filter?: { attributes?: Record<string, string> };
  /** Subscriptions API filters, ANDed; when non-empty they replace `filter`. */
  filters?: SubscriptionsApiFilter[];
}

/** A problem found in a filter spec, with the field path (e.g. `spec.filters[1].cesql`). */
export interface FilterIssue {
  path: string;
  message: string;
}

/**
 * A compiled predicate, or `null` for "no filter" (Knative's NoFilter: an empty dialect, which matches every
 * event and is dropped from all/any, and whose negation is still "no filter").
 */
export type Predicate = ((event: CloudEvent) => boolean) | null;
