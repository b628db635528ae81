/**
 * Which BullMQ batch queues exist right now. Each job has its own queue; a coordinator adds the queue's name to
 * a Redis set when it starts and removes it when the job is done. Scaled batch-scorer replicas read the set to
 * know which queues to work, and the autoscaler sums the depth of every queue in it (KEDA's BullMQ scaler does
 * the same for a fixed list of queues).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmqDepth } from '../../services/autoscaler/queue-depth.ts';
import { bullmq } from './lazy-modules.ts';

/** Redis set of live batch queue names. */
export const DEFAULT_REGISTRY_KEY = 'es:batch:queues';
/** Every batch queue's name starts with this (BullMQ forbids `:` in names). */
export const QUEUE_PREFIX = 'es-batch-';

export function queueName(job: string): string {
  return `${QUEUE_PREFIX}${job}`;
}

export async function registerQueue(redis: Redis, name: string, key = DEFAULT_REGISTRY_KEY): Promise<void> {
  await redis.sadd(key, name);
}

export async function unregisterQueue(redis: Redis, name: string, key = DEFAULT_REGISTRY_KEY): Promise<void> {
  await redis.srem(key, name);
}

export async function registeredQueues(redis: Redis, key = DEFAULT_REGISTRY_KEY): Promise<string[]> {
  return (await redis.smembers(key)).sort();
}

/**
 * A queue-depth source (services/autoscaler QueueDepthSource) for the batch-scorer Function: chunks waiting,
 * delayed or running over every registered batch queue. Queue handles are kept between reads and dropped when
 * their queue leaves the set.
 */
export function batchQueuesDepth(
  redis: Redis,
  key = DEFAULT_REGISTRY_KEY,
): (() => Promise<number>) & {
  close(): Promise<void>;
} {
  const queues = new Map<string, Queue>();
  const read = async () => {
    const names = new Set(await registeredQueues(redis, key));
    for (const [name, queue] of queues) {
      if (!names.has(name)) {
        queues.delete(name);
        await queue.close();
      }
    }
    let depth = 0;
    for (const name of names) {
      let queue = queues.get(name);
      if (queue === undefined) {
        queue = new (bullmq().Queue)(name, { connection: redis });
        queues.set(name, queue);
      }
      depth += await bullmqDepth(queue)();
    }
    return depth;
  };
  return Object.assign(read, {
    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  });
}
