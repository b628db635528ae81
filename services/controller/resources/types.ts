/**
 * The shapes every stored resource shares, whichever group it came from (ours, Knative's or KServe's).
 * Objects are stored as given, so these types describe the envelope only; per-kind spec types live beside the
 * schemas (eventing.ts, sources.ts, serving.ts).
 */

/** Knative-style condition status. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** One entry of `status.conditions`, as Knative writes it. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  /** RFC 3339; changes only when `status` changes. */
  lastTransitionTime?: string;
  severity?: 'Error' | 'Warning' | 'Info' | '';
}

/** `status` of every resource (Knative duck type), plus whatever a reconciler adds. */
export interface ResourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  address?: { url?: string; name?: string };
  [field: string]: unknown;
}

/** Kubernetes ObjectMeta subset we read or manage; unknown fields are kept. */
export interface ObjectMeta {
  name: string;
  /** Filled with `default` when absent. */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Managed by the store. */
  uid?: string;
  /** Managed by the store: a global monotonic counter, as a decimal string. */
  resourceVersion?: string;
  /** Managed by the store: bumped when anything outside metadata and status changes. */
  generation?: number;
  /** Managed by the store (RFC 3339). */
  creationTimestamp?: string;
  [field: string]: unknown;
}

/** A resource as stored: its own `apiVersion` kept, `kind` as written. */
export interface Resource<Spec = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: ResourceStatus;
  [field: string]: unknown;
}

/** One problem found in a resource; `path` is dotted from the object root, e.g. `spec.filters[0].cesql`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Identifies one stored object independently of its API group. */
export interface ResourceKey {
  /** Canonical kind (`Trigger`, `Function`, …) or its plural. */
  kind: string;
  /** @defaultValue `'default'` */
  namespace?: string;
  name: string;
}
