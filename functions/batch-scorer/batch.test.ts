import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSubscriber } from '../../test/support/subscriber.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { resumeBatch, submitBatch } from './batch.ts';
import { BatchFailedError } from './coordinator.ts';
import { BatchBusyError, JobDir } from './job-dir.ts';
import { jobStatus } from './jobs.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import { checkAccounting, writeIrisRows } from './test-support/rows.ts';

let dir: string;
let model: Uint8Array;
let server: OnnxHttpServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batch-run-'));
  model = (await buildIrisModel()).model;
  server = await startOnnxHttpServer(model, 'iris');
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const inProcess = { mode: 'in-process' as const };

describe('batch on the in-process queue', () => {
  it('scores every row, keeps order and ids, writes failed rows with reasons, publishes the completed event', async () => {
    const input = join(dir, 'a.jsonl');
    const output = join(dir, 'out', 'a.out.jsonl');
    const rows = await writeIrisRows(input, 1000, (i) => i % 97 === 5);
    const sink = await startSubscriber();
    const started: boolean[] = [];
    let last = 0;
    const summary = await submitBatch(
      { model: 'iris', url: server.url, input, output, chunkSize: 64, eventSink: `${sink.url}/default/default` },
      {
        ...inProcess,
        concurrency: 3,
        onStart: (info) => started.push(info.durable),
        onProgress: (p) => {
          expect(p.doneRows).toBeGreaterThanOrEqual(last);
          last = p.doneRows;
        },
      },
    );
    expect(started).toEqual([false]);
    expect(last).toBe(1000);
    expect(summary).toMatchObject({
      model: 'iris',
      rows: 1000,
      succeeded: 1000 - rows.bad.size,
      failed: rows.bad.size,
    });
    expect(summary.output).toBe(output);
    expect(summary.failedOutput).toBe(`${output}.failed.jsonl`);
    const check = await checkAccounting(output, summary.failedOutput, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true, failedAsExpected: true });
    expect(check.out[0]).toEqual({ id: 'r0', probabilities: expect.any(Array), label: 0 });
    expect(check.failed[0]).toEqual({
      id: 'r5',
      row: { id: 'r5', features: [5.4, 3.9, 1.7] },
      error: 'row has 3 values for input input; model iris expects 4',
    });

    const [event] = await sink.waitFor(1);
    expect(event!.headers['ce-type']).toBe('dev.elasticserving.batch.completed');
    expect(event!.headers['ce-source']).toBe(`/batches/${summary.job}`);
    const data = JSON.parse(event!.body.toString());
    expect(data).toEqual({
      job: summary.job,
      model: 'iris',
      rows: 1000,
      succeeded: summary.succeeded,
      failed: summary.failed,
      output,
      failedOutput: summary.failedOutput,
      durationMs: expect.any(Number),
    });
    const status = await jobStatus(output);
    expect(status).toMatchObject({ state: 'completed', doneRows: 1000 });
    expect(existsSync(new JobDir(`${output}.job`).logPath)).toBe(false);
  });

  it('scores CSV input with an id column and without one', async () => {
    const input = join(dir, 'b.csv');
    await appendFile(input, 'sl,sw,pl,pw\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0\n');
    const output = join(dir, 'b.out.jsonl');
    const summary = await submitBatch({ model: 'iris', url: server.url, input, output }, inProcess);
    expect(summary).toMatchObject({ rows: 3, succeeded: 2, failed: 1 });
    const out = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => [o.id, o.label])).toEqual([
      [0, 0],
      [1, 2],
    ]);
  });

  it('resumes an interrupted batch: written chunks are kept, only the others are scored again', async () => {
    const input = join(dir, 'c.jsonl');
    const output = join(dir, 'c.out.jsonl');
    const rows = await writeIrisRows(input, 2000, (i) => i === 1234);
    // A model that takes 5 ms a call: the stop lands while most chunks are still to be scored.
    const slow = await startOnnxHttpServer(model, 'iris', { delayMs: 5 });
    const stop = new AbortController();
    const first = submitBatch(
      { model: 'iris', url: slow.url, input, output, chunkSize: 50 },
      { ...inProcess, concurrency: 2, signal: stop.signal, onProgress: (p) => p.doneChunks >= 10 && stop.abort() },
    );
    await expect(first).rejects.toThrow();
    const jobDir = new JobDir(`${output}.job`);
    const kept = await jobDir.doneChunks();
    expect(kept.size).toBeGreaterThanOrEqual(10);
    expect(kept.size).toBeLessThan(30);
    expect(await jobStatus(output)).toMatchObject({ state: 'stopped', doneChunks: kept.size });
    expect(
      await submitBatch({ model: 'iris', url: server.url, input, output }, inProcess).catch((e) => e),
    ).toMatchObject({ message: expect.stringMatching(/unfinished batch .* batch resume/) });

    // The log's last record cut short (as an OS crash before the data reached the disk could leave it): that
    // chunk is scored again. Before it, a second record of the first chunk (a chunk scored twice, e.g. after
    // a stalled worker): it is assembled once.
    const bytes = await readFile(jobDir.logPath);
    const starts: number[] = [];
    for (let i = 0; i < bytes.length; i = bytes.indexOf('\n{"chunk":', i) + 1 || bytes.length) starts.push(i);
    const last = starts.at(-1)!;
    const lastChunk = JSON.parse(bytes.toString('utf8', last, bytes.indexOf('\n', last))).chunk as number;
    await writeFile(
      jobDir.logPath,
      Buffer.concat([bytes.subarray(0, last), bytes.subarray(0, starts[1]), bytes.subarray(last, last + 100)]),
    );
    kept.delete(lastChunk);

    slow.inferRows.length = 0;
    const summary = await resumeBatch(`${output}.job`, { ...inProcess, concurrency: 2 });
    const scoredAgain = slow.inferRows.reduce((a, b) => a + b, 0);
    // Only chunks that were not written are scored again (the bad row is refused before the call).
    const goodLeft = rows.ids.filter((id, i) => !kept.has(Math.floor(i / 50)) && !rows.bad.has(id)).length;
    expect(scoredAgain).toBe(goodLeft);
    expect(summary).toMatchObject({ rows: 2000, failed: 1 });
    await slow.close();
    const check = await checkAccounting(output, summary.failedOutput, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true, failedAsExpected: true });
  });

  it('fails chunks the model server cannot score after retries, keeps the job, and finishes on resume', async () => {
    const port = server.port;
    const input = join(dir, 'd.jsonl');
    const output = join(dir, 'd.out.jsonl');
    const rows = await writeIrisRows(input, 300);
    const down = await startOnnxHttpServer(model, 'iris');
    const url = down.url;
    await down.close();
    const err = await submitBatch(
      { model: 'iris', url, input, output, chunkSize: 100 },
      { ...inProcess, attempts: 2, backoffMs: 20, infer: { timeoutMs: 2000 } },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchFailedError);
    expect((err as BatchFailedError).failedChunks.size).toBe(3);
    expect((err as Error).message).toMatch(/3 of 3 chunks could not be scored .* batch resume/);
    expect(existsSync(output)).toBe(false);

    const back = await startOnnxHttpServer(model, 'iris', { port: Number(new URL(url).port) });
    try {
      const summary = await resumeBatch(output, inProcess);
      expect(summary).toMatchObject({ rows: 300, succeeded: 300, failed: 0 });
      expect(await checkAccounting(output, summary.failedOutput, rows)).toMatchObject({ missing: [], twice: [] });
      expect(await readFile(summary.failedOutput, 'utf8')).toBe('');
    } finally {
      await back.close();
    }
    expect(port).toBe(server.port);
  });

  it('refuses to run a job another live process runs, and to resume against a changed input', async () => {
    const input = join(dir, 'e.jsonl');
    const output = join(dir, 'e.out.jsonl');
    await writeIrisRows(input, 600);
    let resolveStarted: () => void = () => {};
    const started = new Promise<void>((r) => {
      resolveStarted = r;
    });
    const stop = new AbortController();
    const running = submitBatch(
      { model: 'iris', url: server.url, input, output, chunkSize: 10 },
      { ...inProcess, concurrency: 1, signal: stop.signal, onProgress: (p) => p.doneChunks > 0 && resolveStarted() },
    ).catch((e: unknown) => e);
    await started;
    // The same process holds the lock file; a second run of the same job from here is told apart by a live pid.
    const other = new JobDir(`${output}.job`);
    const lock = JSON.parse(await readFile(join(other.dir, 'lock.json'), 'utf8'));
    expect(lock.pid).toBe(process.pid);
    stop.abort();
    await running;
    expect(await readdir(other.dir)).not.toContain('lock.json');

    await appendFile(input, '{"id":"extra","features":[1,2,3,4]}\n');
    await expect(resumeBatch(output, inProcess)).rejects.toThrow(/changed since batch .* was submitted/);
    expect(BatchBusyError.name).toBe('BatchBusyError');
  });
});
