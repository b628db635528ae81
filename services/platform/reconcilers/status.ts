import type { Condition, Resource, ResourceStatus } from '../../controller/resources/types.ts';

/** A Ready=True status for `obj` at its current generation (lastTransitionTime kept when already Ready). */
export function readyStatus(obj: Resource, reason: string, message?: string): ResourceStatus {
  return { observedGeneration: obj.metadata.generation, conditions: [condition(obj, 'True', reason, message)] };
}

/** A Ready=False status naming why. */
export function notReadyStatus(obj: Resource, reason: string, message: string): ResourceStatus {
  return { observedGeneration: obj.metadata.generation, conditions: [condition(obj, 'False', reason, message)] };
}

function condition(obj: Resource, status: Condition['status'], reason: string, message?: string): Condition {
  const previous = obj.status?.conditions?.find((c) => c.type === 'Ready');
  const lastTransitionTime =
    previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : new Date().toISOString();
  return { type: 'Ready', status, reason, ...(message ? { message } : {}), lastTransitionTime };
}
