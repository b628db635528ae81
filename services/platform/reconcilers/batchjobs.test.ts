import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobDir } from '../../../functions/batch-scorer/job-dir.ts';
import {
  type OnnxHttpServer,
  startOnnxHttpServer,
} from '../../../functions/batch-scorer/test-support/onnx-http-server.ts';
import { checkAccounting, writeIrisRows } from '../../../functions/batch-scorer/test-support/rows.ts';
import { buildIrisModel } from '../../../functions/examples/iris/build-iris-model.ts';
import { getCondition } from '../../controller/conditions.ts';
import { MemoryResourceStore } from '../../controller/memory-store.ts';
import { type Reconciler, runReconciler } from '../../controller/reconciler.ts';
import type { Resource } from '../../controller/resources/types.ts';
import { BatchJobRuns, RETRY_ANNOTATION, reconcileBatchJob, removeBatchJob } from './batchjobs.ts';

let dir: string;
let model: Uint8Array;
let server: OnnxHttpServer;
let running: { reconciler: Reconciler; runs: BatchJobRuns } | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batchjobs-'));
  model = (await buildIrisModel()).model;
  server = await startOnnxHttpServer(model, 'iris', { delayMs: 2 });
});

afterEach(async () => {
  await running?.reconciler.stop();
  await running?.runs.close();
  running = undefined;
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(store: MemoryResourceStore, runs = new BatchJobRuns()) {
  let reconciler: Reconciler | undefined;
  const deps = {
    addresses: { ingressUrl: 'http://127.0.0.1:9', gatewayUrl: 'http://127.0.0.1:9' },
    baseDir: dir,
    queue: { mode: 'in-process' as const, attempts: 2, backoffMs: 20 },
    runs,
    changed: (ns: string, name: string) =>
      reconciler?.enqueueWhere((o) => o.metadata.name === name && (o.metadata.namespace ?? 'default') === ns),
  };
  reconciler = await runReconciler(
    store,
    'BatchJob',
    (job, ctx) => reconcileBatchJob(job, deps, ctx),
    (job) => removeBatchJob(job, deps),
    { backoffInitialMs: 20 },
  );
  running = { reconciler, runs };
  return running;
}

function batchJob(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'serving.elastic-serving.dev/v1alpha1',
    kind: 'BatchJob',
    metadata: { name, namespace: 'default', annotations },
    spec: { model: 'iris', ...spec },
  };
}

async function until(store: MemoryResourceStore, name: string, check: (job: Resource) => boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await store.get({ kind: 'BatchJob', namespace: 'default', name });
    if (job && check(job)) return job;
    if (Date.now() > deadline) throw new Error(`BatchJob ${name}: ${JSON.stringify(job?.status)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const condition = (job: Resource, type: string) => getCondition(job.status, type)?.status;

describe('BatchJob reconciler', () => {
  it('validates the spec strictly', async () => {
    const store = new MemoryResourceStore();
    await expect(store.apply(batchJob('bad', { inferenceService: 'x', input: 'a', outptu: 'b' }))).rejects.toThrow(
      /outptu|output/,
    );
    await expect(
      store.apply(batchJob('bad2', { inferenceService: 'x', input: 'a', output: 'b', chunkSize: 0 })),
    ).rejects.toThrow(/chunkSize/);
  });

  it('runs the batch, reports rows done/total while running, and ends Succeeded', async () => {
    const rows = await writeIrisRows(join(dir, 'a.jsonl'), 3000, (i) => i === 17);
    const store = new MemoryResourceStore();
    await start(store);
    await store.apply(
      batchJob('a', { inferenceService: server.url, input: 'a.jsonl', output: 'out/a.jsonl', chunkSize: 100 }),
    );
    const runningStatus = await until(store, 'a', (j) => condition(j, 'Succeeded') === 'Unknown');
    expect(condition(runningStatus, 'Ready')).toBe('Unknown');
    expect(runningStatus.status).toMatchObject({ output: join(dir, 'out/a.jsonl') });
    const done = await until(store, 'a', (j) => condition(j, 'Succeeded') === 'True');
    expect(done.status).toMatchObject({ rowsDone: 3000, rowsTotal: 3000, rowsSucceeded: 2999, rowsFailed: 1 });
    expect(condition(done, 'Ready')).toBe('True');
    expect(condition(done, 'Failed')).toBe('False');
    const check = await checkAccounting(join(dir, 'out/a.jsonl'), join(dir, 'out/a.jsonl.failed.jsonl'), rows);
    expect(check).toMatchObject({ missing: [], twice: [], ordered: true, failedAsExpected: true });
  });

  it('ends Failed when chunks cannot be scored, and resumes when the retry annotation changes', async () => {
    const rows = await writeIrisRows(join(dir, 'b.jsonl'), 500);
    const down = await startOnnxHttpServer(model, 'iris');
    const port = down.port;
    await down.close();
    const store = new MemoryResourceStore();
    await start(store);
    const spec = { inferenceService: `http://127.0.0.1:${port}`, input: 'b.jsonl', output: 'b.out.jsonl' };
    await store.apply(batchJob('b', spec));
    const failed = await until(store, 'b', (j) => condition(j, 'Failed') === 'True');
    expect(condition(failed, 'Ready')).toBe('False');
    expect(getCondition(failed.status, 'Failed')?.message).toMatch(/could not be scored/);

    const back = await startOnnxHttpServer(model, 'iris', { port });
    try {
      await store.apply(batchJob('b', spec, { [RETRY_ANNOTATION]: '1' }));
      const done = await until(store, 'b', (j) => condition(j, 'Succeeded') === 'True');
      expect(condition(done, 'Failed')).toBe('False');
      expect(done.status).toMatchObject({ rowsDone: 500, rowsFailed: 0 });
      expect(
        await checkAccounting(join(dir, 'b.out.jsonl'), join(dir, 'b.out.jsonl.failed.jsonl'), rows),
      ).toMatchObject({ missing: [], twice: [] });
    } finally {
      await back.close();
    }
  });

  it('resumes a job the platform stopped mid-way, keeping written chunks', async () => {
    const rows = await writeIrisRows(join(dir, 'c.jsonl'), 6000);
    const store = new MemoryResourceStore();
    const first = await start(store);
    await store.apply(
      batchJob('c', {
        inferenceService: server.url,
        input: 'c.jsonl',
        output: 'c.out.jsonl',
        chunkSize: 50,
        concurrency: 1,
      }),
    );
    const jobDir = new JobDir(join(dir, 'c.out.jsonl.job'));
    const deadline = Date.now() + 20_000;
    while ((await jobDir.doneChunks()).size < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // The platform stops: reconciler and runs end; a new platform starts on the same store.
    await first.reconciler.stop();
    await first.runs.close();
    running = undefined;
    const kept = (await jobDir.doneChunks()).size;
    expect(kept).toBeGreaterThanOrEqual(10);
    expect(kept).toBeLessThan(120);
    server.inferRows.length = 0;
    await start(store);
    const done = await until(store, 'c', (j) => condition(j, 'Succeeded') === 'True');
    expect(done.status).toMatchObject({ rowsDone: 6000 });
    expect(server.inferRows.reduce((a, b) => a + b, 0)).toBe(6000 - kept * 50);
    expect(await checkAccounting(join(dir, 'c.out.jsonl'), join(dir, 'c.out.jsonl.failed.jsonl'), rows)).toMatchObject({
      missing: [],
      twice: [],
      ordered: true,
    });
  });
});
