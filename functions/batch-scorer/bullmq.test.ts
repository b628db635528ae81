import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { resumeBatch, submitBatch } from './batch.ts';
import { BullBatchQueue, startWorker, workerOptions } from './bullmq-queue.ts';
import { BatchFailedError } from './coordinator.ts';
import { InferClient } from './infer-client.ts';
import { JobDir } from './job-dir.ts';
import { openJob } from './jobs.ts';
import { batchQueuesDepth, queueName, registeredQueues } from './registry.ts';
import { chunkProcessor } from './score.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import { checkAccounting, writeIrisRows } from './test-support/rows.ts';
import type { ChunkTask } from './types.ts';
import { BatchWorkerPool } from './worker-pool.ts';

const unique = () => `t${randomBytes(5).toString('hex')}`;

await describeWithEngine('redis', 'batch on BullMQ (real Redis)', () => {
  let dir: string;
  let server: OnnxHttpServer;
  let model: Uint8Array;
  let redis: Redis;
  const registryKey = `es:batch:test-queues:${unique()}`;
  const bull = () => ({ mode: 'bullmq' as const, redisUrl: engines.redis.url, registryKey });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batch-bull-'));
    model = (await buildIrisModel()).model;
    server = await startOnnxHttpServer(model, 'iris');
    redis = new Redis(engines.redis.url, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    for (const name of await registeredQueues(redis, registryKey)) {
      const q = await BullBatchQueue.open(name.slice('es-batch-'.length), name, { connection: redis, registryKey });
      await q.destroy();
    }
    await redis.del(registryKey);
    redis.disconnect();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('scores a batch through a BullMQ queue and removes the queue when done', async () => {
    const input = join(dir, 'a.jsonl');
    const output = join(dir, 'a.out.jsonl');
    const rows = await writeIrisRows(input, 1500, (i) => i % 300 === 7);
    const job = unique();
    const started: boolean[] = [];
    const summary = await submitBatch(
      { model: 'iris', url: server.url, input, output, chunkSize: 100, job },
      { ...bull(), concurrency: 3, onStart: (i) => started.push(i.durable) },
    );
    expect(started).toEqual([true]);
    expect(summary).toMatchObject({ job, rows: 1500, failed: 5 });
    const check = await checkAccounting(output, summary.failedOutput, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true, failedAsExpected: true });
    expect(await registeredQueues(redis, registryKey)).not.toContain(queueName(job));
    expect(await redis.keys(`bull:${queueName(job)}:*`)).toEqual([]);
    expect((await openJob(output)).manifest.queue).toEqual({
      kind: 'bullmq',
      name: queueName(job),
      redis: engines.redis.url,
    });
  });

  it('never queues a chunk twice, and counts waiting chunks of every registered queue as depth', async () => {
    const job = unique();
    const queue = await BullBatchQueue.open(job, queueName(job), { connection: redis, registryKey });
    const depth = batchQueuesDepth(redis, registryKey);
    try {
      const tasks: ChunkTask[] = [0, 1, 2].map((chunk) => ({ job, chunk, model: 'iris', url: server.url, rows: [] }));
      await queue.add(tasks);
      await queue.add(tasks.slice(1));
      expect(await queue.depth()).toBe(3);
      expect(await depth()).toBe(3);
      expect((await queue.inventory()).pending).toEqual(new Set([0, 1, 2]));
    } finally {
      await depth.close();
      await queue.destroy();
    }
    expect(await registeredQueues(redis, registryKey)).not.toContain(queueName(job));
  });

  it('collects chunks scored by other workers while no coordinator ran, without scoring them again', async () => {
    const input = join(dir, 'b.jsonl');
    const output = join(dir, 'b.out.jsonl');
    const rows = await writeIrisRows(input, 1200, (i) => i === 3);
    const job = unique();
    // A worker elsewhere (as a scaled batch-scorer replica runs one): the coordinator scores nothing itself. The
    // model takes 30 ms a call, so the coordinator stops while most chunks are still to be scored.
    const slow = await startOnnxHttpServer(model, 'iris', { delayMs: 30 });
    const remote = await BullBatchQueue.open(job, queueName(job), { connection: redis, registryKey });
    const worker = startWorker(queueName(job), chunkProcessor(new InferClient()), workerOptions(redis, 2));
    const stop = new AbortController();
    const first = submitBatch(
      { model: 'iris', url: slow.url, input, output, chunkSize: 50, job },
      { ...bull(), concurrency: 0, signal: stop.signal, onProgress: (p) => p.doneChunks >= 3 && stop.abort() },
    );
    await expect(first).rejects.toThrow();
    const written = await new JobDir(`${output}.job`).doneChunks();
    expect(written.size).toBeLessThan(24);
    // The worker finishes the queue with no coordinator; results wait in Redis.
    const deadline = Date.now() + 20_000;
    while ((await remote.depth()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await worker.close();
    expect(await remote.depth()).toBe(0);
    await remote.close();

    slow.inferRows.length = 0;
    const summary = await resumeBatch(output, { ...bull(), concurrency: 0 });
    expect(slow.inferRows).toEqual([]);
    await slow.close();
    expect(summary).toMatchObject({ rows: 1200, failed: 1 });
    const check = await checkAccounting(output, summary.failedOutput, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true, failedAsExpected: true });
  });

  it('gives up on chunks the model server cannot score after retries, drops their rows, and resume scores them', async () => {
    const input = join(dir, 'e.jsonl');
    const output = join(dir, 'e.out.jsonl');
    const rows = await writeIrisRows(input, 300);
    const down = await startOnnxHttpServer(model, 'iris');
    const url = down.url;
    await down.close();
    const job = unique();
    const err = await submitBatch(
      { model: 'iris', url, input, output, chunkSize: 100, job },
      { ...bull(), concurrency: 2, attempts: 2, backoffMs: 20, infer: { timeoutMs: 2000 } },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchFailedError);
    expect((err as BatchFailedError).failedChunks.size).toBe(3);
    expect(await redis.hlen(`bull:${queueName(job)}:rows`)).toBe(0);
    expect(await new JobDir(`${output}.job`).doneChunks()).toEqual(new Set());

    const back = await startOnnxHttpServer(model, 'iris', { port: Number(new URL(url).port) });
    try {
      const summary = await resumeBatch(output, { ...bull(), concurrency: 2 });
      expect(summary).toMatchObject({ rows: 300, succeeded: 300, failed: 0 });
      expect(back.inferRows.reduce((a, b) => a + b, 0)).toBe(300);
      expect(await checkAccounting(output, summary.failedOutput, rows)).toMatchObject({ missing: [], twice: [] });
    } finally {
      await back.close();
    }
  });

  it('a worker pool (a batch-scorer replica) follows the registry: works new queues, leaves finished ones', async () => {
    const input = join(dir, 'c.jsonl');
    const output = join(dir, 'c.out.jsonl');
    const rows = await writeIrisRows(input, 800);
    const job = unique();
    const pool = new BatchWorkerPool({
      connection: redis,
      processor: chunkProcessor(new InferClient()),
      concurrency: 2,
      registryKey,
      pollMs: 50,
    });
    await pool.start();
    try {
      const summary = await submitBatch(
        { model: 'iris', url: server.url, input, output, chunkSize: 100, job },
        { ...bull(), concurrency: 0 },
      );
      expect(summary).toMatchObject({ rows: 800, failed: 0 });
      expect(await checkAccounting(output, summary.failedOutput, rows)).toMatchObject({ missing: [], twice: [] });
      await pool.sync();
      expect(pool.queues).not.toContain(queueName(job));
    } finally {
      await pool.close();
    }
  });

  it('stops when a queued chunk vanishes from Redis, and resuming queues it again', async () => {
    const input = join(dir, 'd.jsonl');
    const output = join(dir, 'd.out.jsonl');
    const rows = await writeIrisRows(input, 500);
    const job = unique();
    const run = submitBatch(
      { model: 'iris', url: server.url, input, output, chunkSize: 100, job },
      { ...bull(), concurrency: 0, sweepMs: 100 },
    );
    const other = await BullBatchQueue.open(job, queueName(job), { connection: redis, registryKey });
    const deadline = Date.now() + 10_000;
    while ((await other.depth()) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Someone deletes a waiting chunk's job behind the coordinator's back.
    const raw = new Queue(queueName(job), { connection: redis });
    await raw.remove(`${job}.2`);
    await raw.close();
    await expect(run).rejects.toThrow(/chunks 2 vanished from queue/);
    await other.close();
    const summary = await resumeBatch(output, { ...bull(), concurrency: 2 });
    expect(summary).toMatchObject({ rows: 500, failed: 0 });
    expect(await checkAccounting(output, summary.failedOutput, rows)).toMatchObject({ missing: [], twice: [] });
  });
});
