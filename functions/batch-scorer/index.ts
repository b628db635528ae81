/**
 * The batch-scorer Function (DESIGN §1, §8): BullMQ workers that score the chunks of every live batch queue, so the
 * platform scales it on BullMQ queue depth (registry.ts `batchQueuesDepth` is its queue-depth source). Its events:
 * an upload `batches/<model>/<file>.jsonl|csv` to a directory bucket creates a BatchJob (upload-rule.ts), which
 * the platform runs; anything else is ignored.
 *
 * Configuration (env): ES_REDIS_URL (default redis://127.0.0.1:6379), ES_BATCH_QUEUES (comma-separated queue
 * names; default: follow the registry of live queues, ES_BATCH_REGISTRY_KEY, default `es:batch:queues`),
 * ES_BATCH_CONCURRENCY (chunks at once per queue, default 4), ES_BATCH_LOCK_MS / ES_BATCH_STALLED_MS (a running
 * chunk's lock and the stalled check, defaults 10000 / 5000: a killed replica's chunks are redone after them), ES_BATCH_ISVC (InferenceService of uploaded batches, default `models`), ES_BATCH_BROKER (Broker that gets
 * their completed events, default `default`; empty = none); the control API from ES_CONTROL_URL /
 * ES_CONTROL_TOKEN, which the platform sets for every replica.
 */
import { defineFunction, NonRetriableError } from 'elastic-serving/sdk';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { DEFAULT_REDIS_URL, redactUrl } from './queue-choice.ts';
import { chunkProcessor } from './score.ts';
import { type StorageObject, uploadAction } from './upload-rule.ts';
import { BatchWorkerPool } from './worker-pool.ts';

const env = process.env;
let pool: BatchWorkerPool | undefined;
let connection: Redis | undefined;

async function createBatchJob(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  const base = env.ES_CONTROL_URL;
  if (!base) throw new NonRetriableError('ES_CONTROL_URL is not set: creating a BatchJob needs the control API');
  const url = `${base}/apis/serving.elastic-serving.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/batchjobs/${encodeURIComponent(name)}`;
  const body = {
    apiVersion: 'serving.elastic-serving.dev/v1alpha1',
    kind: 'BatchJob',
    metadata: { name, namespace },
    spec,
  };
  const res = await request(url, {
    method: 'PATCH',
    headers: {
      'content-type': 'application/apply-patch+yaml',
      ...(env.ES_CONTROL_TOKEN ? { authorization: `Bearer ${env.ES_CONTROL_TOKEN}` } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`control API PATCH ${url}: ${res.statusCode} ${text.slice(0, 300)}`);
}

export default defineFunction<StorageObject>(
  async (event, ctx) => {
    const obj = event.data ?? {};
    const decided = uploadAction(event.type, event.subject ?? obj.key, obj, env.ES_BATCH_PREFIX ?? 'batches/');
    if (decided.action === 'ignore') {
      ctx.logger.debug({ why: decided.reason }, 'not a batch upload');
      return undefined;
    }
    if (decided.action === 'reject') throw new NonRetriableError(decided.reason);
    const broker = env.ES_BATCH_BROKER ?? 'default';
    await createBatchJob(ctx.namespace, decided.name, {
      model: decided.model,
      inferenceService: env.ES_BATCH_ISVC ?? 'models',
      input: decided.input,
      output: decided.output,
      ...(broker ? { sink: { ref: { kind: 'Broker', name: broker } } } : {}),
    });
    ctx.logger.info({ batchJob: decided.name, input: decided.input, output: decided.output }, 'batch job created');
    return undefined;
  },
  {
    name: 'batch-scorer',
    init: async (ctx) => {
      const url = env.ES_REDIS_URL ?? DEFAULT_REDIS_URL;
      connection = new Redis(url, { maxRetriesPerRequest: null });
      connection.on('error', (err) => ctx.logger.warn({ err: err.message }, 'redis connection error'));
      const queues = (env.ES_BATCH_QUEUES ?? '')
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean);
      pool = new BatchWorkerPool({
        connection,
        processor: chunkProcessor(),
        concurrency: Number(env.ES_BATCH_CONCURRENCY ?? 4),
        queues,
        ...(env.ES_BATCH_REGISTRY_KEY ? { registryKey: env.ES_BATCH_REGISTRY_KEY } : {}),
        ...(env.ES_BATCH_LOCK_MS ? { lockDurationMs: Number(env.ES_BATCH_LOCK_MS) } : {}),
        ...(env.ES_BATCH_STALLED_MS ? { stalledIntervalMs: Number(env.ES_BATCH_STALLED_MS) } : {}),
        onError: (err) => ctx.logger.warn({ err }, 'reading the batch queue registry failed'),
      });
      await pool.start();
      ctx.logger.info({ redis: redactUrl(url), queues: queues.length ? queues : 'registry' }, 'batch workers started');
      // Stop taking chunks at once on SIGTERM; chunks cut off by the exit are redone after their lock expires.
      process.once('SIGTERM', () => void pool?.close());
    },
  },
);
