import type { Logger } from 'pino';
import type { AutoscalerStatus } from '../autoscaler/index.ts';
import { ConflictError } from '../controller/errors.ts';
import { type StatusPatch, statusAfter } from '../controller/reconciler.ts';
import type { ResourceStore } from '../controller/store.ts';
import type { ReplicaInfo } from '../runtime/types.ts';
import { splitFunctionKey } from '../runtime/types.ts';

/** How a Function's replica count is decided right now. */
export interface ScaleView {
  /** Replicas wanted: the fixed `spec.replicas`, or the autoscaler's answer. */
  desired: number;
  /** The autoscaler's view; undefined for a Function with fixed replicas. */
  autoscaler?: AutoscalerStatus | undefined;
  /** Whether the activator buffers the Function's requests (see services/activator/burst.ts). */
  activatorInPath?: boolean | undefined;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** The "why" of the scale in one line, e.g. `concurrency 12.4 / target 7 (panic)`, `lag 40`, `fixed`. */
export function scaleReason(view: ScaleView): string {
  const a = view.autoscaler;
  if (!a) return `fixed at ${view.desired} (spec.replicas)`;
  const parts = [`${a.metric} ${round(a.value)} / target ${round(a.target)}`];
  if (a.queueDepth !== undefined) parts.push(`queue ${a.queueDepth}`);
  if (a.panic) parts.push('panic');
  return parts.join(', ');
}

/**
 * Status of a Function from its replicas and its scale: `readyReplicas`, `desiredReplicas`, `replicaRestarts`
 * (crash restarts of the current replicas) and `lastReplicaFailure`, `scaling` (metric, value, target, the
 * autoscaler's reason) and Ready. As in Knative, a Function scaled to zero is Ready (its
 * requests are held by the activator while a replica starts); a replica that keeps crashing makes it not Ready,
 * with the crash's reason; replicas still starting leave Ready Unknown.
 */
export function functionStatus(replicas: readonly ReplicaInfo[], view: ScaleView): StatusPatch {
  const ready = replicas.filter((r) => r.ready).length;
  const failing = replicas.find((r) => r.state === 'backoff' && r.lastError) ?? replicas.find((r) => r.lastError);
  const why = scaleReason(view);
  const scaling: Record<string, unknown> = { mode: view.autoscaler ? 'autoscaled' : 'fixed', reason: why };
  if (view.autoscaler) {
    const a = view.autoscaler;
    Object.assign(scaling, {
      metric: a.metric,
      value: round(a.value),
      target: round(a.target),
      panic: a.panic,
      decision: a.reason,
    });
    if (a.queueDepth !== undefined) scaling.queueDepth = a.queueDepth;
  }
  if (view.activatorInPath !== undefined) scaling.activatorInPath = view.activatorInPath;
  let condition: NonNullable<StatusPatch['conditions']>[number];
  if (ready > 0) {
    condition = {
      type: 'Ready',
      status: 'True',
      reason: 'ReplicasReady',
      message: `${ready}/${view.desired} ready; ${why}`,
    };
  } else if (view.desired === 0) {
    condition = {
      type: 'Ready',
      status: 'True',
      reason: 'ScaledToZero',
      message: `no replica running; the first request starts one (${why})`,
    };
  } else if (failing) {
    condition = {
      type: 'Ready',
      status: 'False',
      reason: 'ReplicaFailing',
      message: failing.lastError!.slice(0, 500),
    };
  } else {
    condition = {
      type: 'Ready',
      status: 'Unknown',
      reason: 'ReplicasStarting',
      message: `0/${view.desired} ready; ${why}`,
    };
  }
  const patch: StatusPatch = {
    readyReplicas: ready,
    desiredReplicas: view.desired,
    replicaRestarts: replicas.reduce((n, r) => n + r.restarts, 0),
    scaling,
    conditions: [condition],
  };
  // Kept after the replica recovers (status fields are merged), so `describe` still says what happened last.
  if (failing?.lastError) patch.lastReplicaFailure = `${failing.id}: ${failing.lastError.slice(0, 500)}`;
  return patch;
}

/**
 * Writes a Function's replica readiness and scale to its status between reconciles. The write is conditional on the
 * version just read, so it never overwrites a status the reconciler wrote in between (address, handler hash); on a
 * conflict it reads again and merges into the newer status.
 */
export async function markFunctionStatus(
  store: ResourceStore,
  key: string,
  patch: StatusPatch,
  logger: Logger,
  kind = 'Function',
): Promise<void> {
  const { namespace, name } = splitFunctionKey(key);
  const ref = { kind, namespace, name };
  for (let attempt = 1; ; attempt++) {
    try {
      const fn = await store.get(ref);
      if (!fn) return;
      await store.updateStatus(ref, statusAfter(fn.status, patch, fn.metadata.generation, new Date()), {
        resourceVersion: fn.metadata.resourceVersion,
      });
      return;
    } catch (err) {
      if (err instanceof ConflictError && attempt < 5) continue;
      logger.warn({ err, function: key }, 'could not update function status');
      return;
    }
  }
}
