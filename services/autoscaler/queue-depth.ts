import type { JobType, Queue } from 'bullmq';
import type { EventLog } from '../../brokers/contract.ts';

/** Reads a function's queue depth; rejects when it cannot tell (the autoscaler then holds the scale). */
export type QueueDepthSource = () => Promise<number>;

/** The lag of a trigger's consumer group: events appended to `topic` and not yet acknowledged by `group`. */
export function eventLogLag(log: Pick<EventLog, 'lag'>, topic: string, group: string): QueueDepthSource {
  return () => log.lag(topic, group);
}

/**
 * BullMQ job states that count as depth. `active` is included on purpose: like an event log's lag, which counts
 * delivered-but-unacknowledged events, work a replica is still doing must keep that replica, or a queue whose
 * last jobs are long would scale to zero under them. `delayed` (retries in backoff, scheduled jobs) will need a
 * worker soon; `prioritized` is BullMQ's waiting list for jobs added with a priority.
 */
export const BULLMQ_DEPTH_STATES: readonly JobType[] = ['waiting', 'prioritized', 'delayed', 'active'];

/** Depth of a BullMQ queue: the jobs in `states` (default {@link BULLMQ_DEPTH_STATES}), in one round trip. */
export function bullmqDepth(
  queue: Pick<Queue, 'getJobCounts'>,
  states: readonly JobType[] = BULLMQ_DEPTH_STATES,
): QueueDepthSource {
  return async () => {
    const counts = await queue.getJobCounts(...states);
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  };
}

/** Runs `source` with a deadline; rejects on timeout or on an answer that is not a count. */
export async function readQueueDepth(source: QueueDepthSource, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue depth: no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const depth = await Promise.race([source(), timeout]);
    if (!(Number.isFinite(depth) && depth >= 0)) throw new Error(`queue depth source returned ${depth}`);
    return depth;
  } finally {
    clearTimeout(timer);
  }
}
