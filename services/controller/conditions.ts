import type { Condition, ConditionStatus, ResourceStatus } from './resources/types.ts';

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
