import type { Condition, ConditionStatus, Resource, ResourceStatus } from './resources/types.ts';

/**
 * Knative-style status helpers. All of them return a new status and leave their input alone; a condition's
 * `lastTransitionTime` moves only when its `status` changes, so writing the same outcome twice is a no-op for the
 * store (no new resourceVersion, no watch event, no reconcile loop).
 */
export const READY = 'Ready';

/** A condition as a reconciler states it; `lastTransitionTime` is managed here. */
export type ConditionInput = Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string };

function rfc3339(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function getCondition(status: ResourceStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the object's current generation. */
export function isReady(obj: Resource): boolean {
  const ready = getCondition(obj.status, READY);
  const observed = obj.status?.observedGeneration;
  return ready?.status === 'True' && (observed === undefined || observed === obj.metadata.generation);
}

/** Sets (or replaces) one condition; conditions stay sorted by type, as Knative keeps them. */
export function setCondition(
  status: ResourceStatus | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): ResourceStatus {
  const previous = getCondition(status, input.type);
  const condition: Condition = { type: input.type, status: input.status };
  if (input.reason !== undefined && input.reason !== '') condition.reason = input.reason;
  if (input.message !== undefined && input.message !== '') condition.message = input.message;
  if (input.severity !== undefined && input.severity !== '') condition.severity = input.severity;
  condition.lastTransitionTime =
    previous !== undefined && previous.status === input.status && previous.lastTransitionTime !== undefined
      ? previous.lastTransitionTime
      : (input.lastTransitionTime ?? rfc3339(now));
  const others = (status?.conditions ?? []).filter((c) => c.type !== input.type);
  return {
    ...status,
    conditions: [...others, condition].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)),
  };
}

/** Applies several conditions in turn (how the reconciler merges what a reconcile returned). */
export function setConditions(
  status: ResourceStatus | undefined,
  inputs: readonly ConditionInput[],
  now: Date = new Date(),
): ResourceStatus {
  return inputs.reduce<ResourceStatus>((s, c) => setCondition(s, c, now), { ...status });
}

function mark(
  status: ResourceStatus | undefined,
  value: ConditionStatus,
  reason?: string,
  message?: string,
  now?: Date,
) {
  return setCondition(
    status,
    {
      type: READY,
      status: value,
      ...(reason === undefined ? {} : { reason }),
      ...(message === undefined ? {} : { message }),
    },
    now,
  );
}

export function markReady(
  status: ResourceStatus | undefined,
  reason?: string,
  message?: string,
  now?: Date,
): ResourceStatus {
  return mark(status, 'True', reason, message, now);
}

export function markNotReady(
  status: ResourceStatus | undefined,
  reason: string,
  message: string,
  now?: Date,
): ResourceStatus {
  return mark(status, 'False', reason, message, now);
}

export function markUnknown(
  status: ResourceStatus | undefined,
  reason: string,
  message: string,
  now?: Date,
): ResourceStatus {
  return mark(status, 'Unknown', reason, message, now);
}

export function setObservedGeneration(
  status: ResourceStatus | undefined,
  generation: number | undefined,
): ResourceStatus {
  return generation === undefined ? { ...status } : { ...status, observedGeneration: generation };
}

/** Sets `status.address.url` (Knative Addressable); `undefined` removes the address. */
export function setAddress(status: ResourceStatus | undefined, url: string | undefined): ResourceStatus {
  const { address: _old, ...rest } = status ?? {};
  return url === undefined ? rest : { ...rest, address: { url } };
}

/**
 * Knative's "living condition set": `Ready` follows its dependents. All True → Ready True; any False → Ready
 * False with that dependent's reason and message; otherwise Unknown.
 */
export class ConditionSet {
  constructor(readonly dependents: readonly string[]) {}

  /** Every dependent (and Ready) that is not set yet becomes Unknown. */
  initialize(status: ResourceStatus | undefined, now?: Date): ResourceStatus {
    let out: ResourceStatus = { ...status };
    for (const type of [READY, ...this.dependents]) {
      if (getCondition(out, type) === undefined) out = setCondition(out, { type, status: 'Unknown' }, now);
    }
    return out;
  }

  markTrue(status: ResourceStatus | undefined, type: string, now?: Date): ResourceStatus {
    return this.recompute(setCondition(status, { type, status: 'True' }, now), now);
  }

  markFalse(
    status: ResourceStatus | undefined,
    type: string,
    reason: string,
    message: string,
    now?: Date,
  ): ResourceStatus {
    return this.recompute(setCondition(status, { type, status: 'False', reason, message }, now), now);
  }

  markUnknown(
    status: ResourceStatus | undefined,
    type: string,
    reason: string,
    message: string,
    now?: Date,
  ): ResourceStatus {
    return this.recompute(setCondition(status, { type, status: 'Unknown', reason, message }, now), now);
  }

  private recompute(status: ResourceStatus, now?: Date): ResourceStatus {
    const deps = this.dependents.map((type) => getCondition(status, type));
    const failed = deps.find((c) => c?.status === 'False');
    if (failed !== undefined) return markNotReady(status, failed.reason ?? failed.type, failed.message ?? '', now);
    if (deps.every((c) => c?.status === 'True')) return markReady(status, undefined, undefined, now);
    const pending = deps.find((c) => c?.status !== 'True');
    return markUnknown(
      status,
      pending?.reason ?? 'Pending',
      pending?.message ?? `waiting for ${pending?.type ?? 'dependents'}`,
      now,
    );
  }
}
