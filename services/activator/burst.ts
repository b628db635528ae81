/**
 * Knative's target-burst-capacity rule: whether the activator buffers a function's requests or steps out of the
 * path. The spare capacity left after the observed burst is
 *
 *   excess = ready replicas × per-replica capacity − observed panic-window load − target burst capacity
 *
 * and the activator stays in the path while it is negative, so a burst larger than what the ready replicas absorb
 * is queued and balanced here instead of piling onto replicas. `targetBurstCapacity` 0 means out of the path
 * whenever a replica is ready, -1 always in the path. With no ready replica it is always in the path (that is
 * scale from zero).
 */
export interface BurstInput {
  ready: number;
  /** Per-replica capacity in units of the scaling metric (Knative's total target: before utilization). */
  capacityPerReplica: number;
  /** The metric averaged over the panic window. */
  panicValue: number;
  /** `autoscaling.knative.dev/target-burst-capacity`; 0 = out of path when ready, -1 = always in path. */
  targetBurstCapacity: number;
}

/** Knative's default target burst capacity. */
export const DEFAULT_TARGET_BURST_CAPACITY = 200;

export function excessBurstCapacity(b: BurstInput): number {
  if (b.targetBurstCapacity === 0) return 0;
  if (b.targetBurstCapacity < 0) return -1;
  return Math.floor(b.ready * b.capacityPerReplica - b.panicValue - b.targetBurstCapacity);
}

export function activatorInPath(b: BurstInput): boolean {
  return b.ready === 0 || excessBurstCapacity(b) < 0;
}
