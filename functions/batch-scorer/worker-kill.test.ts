// A batch-scorer replica (the Function, bundled as the runtime runs it) is killed with SIGKILL while it scores;
// its chunks are redone by another worker once their locks expire, and the batch ends with every row once.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { transpileHandler } from '../../services/runtime/transpile.ts';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { submitBatch } from './batch.ts';
import { InferClient } from './infer-client.ts';
import { registeredQueues } from './registry.ts';
import { chunkProcessor } from './score.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import { checkAccounting, writeIrisRows } from './test-support/rows.ts';
import { BatchWorkerPool } from './worker-pool.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

await describeWithEngine('redis', 'a killed batch-scorer replica (real Redis, BullMQ)', () => {
  let dir: string;
  let server: OnnxHttpServer;
  let redis: Redis;
  let replica: ChildProcess | undefined;
  const registryKey = `es:batch:test-queues:${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batch-kill-'));
    // 20 ms a call, so the replica is always in the middle of chunks.
    server = await startOnnxHttpServer((await buildIrisModel()).model, 'iris', { delayMs: 20 });
    redis = new Redis(engines.redis.url, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    replica?.kill('SIGKILL');
    await redis.del(registryKey);
    redis.disconnect();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('its running chunks are scored again by another worker; no row lost or written twice', async () => {
    const built = await transpileHandler({
      handler: 'functions/batch-scorer/index.ts',
      namespace: 'test',
      name: 'batch-scorer',
      baseDir: ROOT,
      stateDir: join(dir, 'state'),
    });
    let ready!: () => void;
    const started = new Promise<void>((r) => {
      ready = r;
    });
    replica = spawn(process.execPath, [built.file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        PORT: '0',
        ES_REDIS_URL: engines.redis.url,
        ES_BATCH_REGISTRY_KEY: registryKey,
        ES_BATCH_CONCURRENCY: '4',
        ES_BATCH_LOCK_MS: '1500',
        ES_BATCH_STALLED_MS: '500',
      },
    });
    replica.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('function ready')) ready();
    });
    await started;

    const input = join(dir, 'rows.jsonl');
    const output = join(dir, 'out.jsonl');
    const rows = await writeIrisRows(input, 6000);
    let pool: BatchWorkerPool | undefined;
    const killed = { at: 0 };
    const summary = await submitBatch(
      { model: 'iris', url: server.url, input, output, chunkSize: 100 },
      {
        mode: 'bullmq',
        redisUrl: engines.redis.url,
        registryKey,
        concurrency: 0,
        onProgress: (p) => {
          if (p.doneChunks >= 5 && killed.at === 0) {
            killed.at = p.doneChunks;
            replica!.kill('SIGKILL');
            // Another replica takes over (scale-out after the loss).
            pool = new BatchWorkerPool({
              connection: redis,
              processor: chunkProcessor(new InferClient()),
              registryKey,
              pollMs: 100,
              lockDurationMs: 1500,
              stalledIntervalMs: 500,
            });
            void pool.start();
          }
        },
      },
    );
    await pool?.close();
    expect(killed.at).toBeGreaterThanOrEqual(5);
    expect(killed.at).toBeLessThan(60);
    expect(summary).toMatchObject({ rows: 6000, succeeded: 6000 });
    const check = await checkAccounting(output, summary.failedOutput, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true });
    // Rows of chunks the replica was scoring when it died are scored again, yet written once.
    expect(server.inferRows.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(6000);
    expect(await registeredQueues(redis, registryKey)).toEqual([]);
  }, 60_000);
});
