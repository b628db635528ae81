/**
 * Which queue a batch uses. `auto` (the default) takes BullMQ when Redis answers at the URL given (or the local
 * default) and the in-process queue otherwise, and says which — the in-process queue loses queued work with the
 * process, which a user must know before starting a long batch.
 */
import type { Redis } from 'ioredis';
import { BullBatchQueue, type WorkerLockOptions } from './bullmq-queue.ts';
import { ioredis } from './lazy-modules.ts';
import { InProcessQueue } from './memory-queue.ts';
import type { BatchQueue, RetryOptions } from './queue.ts';
import type { QueueKind } from './types.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export type QueueMode = 'auto' | QueueKind;

/** An opened choice: opens the queue of a job, and releases the connection when the caller is done. */
export interface QueueBackend {
  kind: QueueKind;
  /** Redis URL with any password removed (for the manifest and messages). */
  redis?: string;
  /** The Redis connection, for callers that need it besides the queue (BullMQ only). */
  connection?: Redis;
  /** Why this kind was chosen, for people (e.g. `Redis at redis://… is not reachable: ECONNREFUSED`). */
  reason: string;
  open(job: string, name: string): Promise<BatchQueue>;
  close(): Promise<void>;
}

export interface QueueBackendOptions extends RetryOptions, WorkerLockOptions {
  /** @defaultValue 'auto' */
  mode?: QueueMode;
  /** @defaultValue env ES_REDIS_URL, else 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** How long `auto` waits for Redis before choosing the in-process queue. @defaultValue 1500 */
  connectTimeoutMs?: number;
  /** Registry of live batch queues (registry.ts). @defaultValue 'es:batch:queues' */
  registryKey?: string;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

async function connect(url: string, timeoutMs: number): Promise<Redis> {
  const redis = new (ioredis().Redis)(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // While deciding, one failed connection is an answer; BullMQ reconnects on its own afterwards.
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  redis.options.retryStrategy = (times: number) => Math.min(times * 200, 2000);
  return redis;
}

/** Connects to what `options.mode` asks for; `bullmq` without a reachable Redis rejects. */
export async function openQueueBackend(options: QueueBackendOptions = {}): Promise<QueueBackend> {
  const mode = options.mode ?? 'auto';
  const url = options.redisUrl ?? process.env.ES_REDIS_URL ?? DEFAULT_REDIS_URL;
  const { mode: _m, redisUrl: _u, connectTimeoutMs: _t, ...rest } = options;
  if (mode !== 'in-process') {
    try {
      const connection = await connect(url, options.connectTimeoutMs ?? 1500);
      return {
        kind: 'bullmq',
        redis: redactUrl(url),
        reason: `Redis at ${redactUrl(url)} answers`,
        connection,
        open: (job, name) => BullBatchQueue.open(job, name, { ...rest, connection }),
        close: async () => {
          connection.disconnect();
        },
      };
    } catch (err) {
      const why = `Redis at ${redactUrl(url)} is not reachable: ${(err as Error).message}`;
      if (mode === 'bullmq') throw new Error(why, { cause: err });
      return inProcess(why, rest);
    }
  }
  return inProcess('asked for', rest);
}

function inProcess(reason: string, retry: RetryOptions): QueueBackend {
  return {
    kind: 'in-process',
    reason,
    open: async (_job, name) => new InProcessQueue(name, retry),
    close: async () => undefined,
  };
}
