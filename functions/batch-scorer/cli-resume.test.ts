// `kill -9` of the CLI mid-batch, then `batch resume`: every input id exactly once in output ∪ failed, in order, and
// only the chunks not in the job's chunk log are scored again. Run on both queues, the CLI as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { resumeBatch } from './batch.ts';
import { BatchBusyError, JobDir } from './job-dir.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import { checkAccounting, type RowsFile, writeIrisRows } from './test-support/rows.ts';

const BIN = fileURLToPath(new URL('../../bin/elastic-serving.mjs', import.meta.url));
const ROWS = 20_000;
const CHUNK = 50;

let dir: string;
let server: OnnxHttpServer;
let input: string;
let rows: RowsFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batch-cli-'));
  // 10 ms per infer call: the batch takes seconds, so the kill lands mid-way.
  server = await startOnnxHttpServer((await buildIrisModel()).model, 'iris', { delayMs: 10 });
  input = join(dir, 'rows.jsonl');
  rows = await writeIrisRows(input, ROWS, (i) => i % 997 === 11);
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; out: string; err: string }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ES_BATCH_LOCK_MS: '1500', ES_BATCH_STALLED_MS: '500', ES_REDIS_URL: engines.redis.url },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    child.on('exit', (code) => resolve({ code, out, err }));
  });
  return { child, done };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function killAndResume(queue: 'in-process' | 'bullmq'): Promise<void> {
  {
    const output = join(dir, `out-${queue}.jsonl`);
    const jobDir = new JobDir(`${output}.job`);
    const submit = cli([
      'batch',
      'submit',
      '--model',
      'iris',
      '--isvc',
      server.url,
      '--input',
      input,
      '--output',
      output,
      '--chunk-size',
      String(CHUNK),
      '--queue',
      queue,
      '--concurrency',
      '2',
    ]);
    await until(async () => (await jobDir.doneChunks()).size >= 10, 30_000, 'the first chunks');
    // While the CLI runs the job, nobody else may.
    await expect(resumeBatch(output, { mode: 'in-process' })).rejects.toBeInstanceOf(BatchBusyError);
    await until(async () => (await jobDir.doneChunks()).size >= 40, 30_000, '40 chunks');
    submit.child.kill('SIGKILL');
    const killed = await submit.done;
    expect(killed.code).toBe(null);
    const done = await jobDir.doneChunks();
    const chunks = Math.ceil(ROWS / CHUNK);
    expect(done.size).toBeLessThan(chunks);
    if (queue === 'in-process') expect(killed.err).toMatch(/in-process queue.*cannot resume across a restart/);

    const status = cli(['batch', 'status', output]);
    const st = await status.done;
    expect(st.out).toMatch(/\(stopped\)/);
    expect(st.out).toContain(`batch resume ${output}`);

    server.inferRows.length = 0;
    const resume = cli(['batch', 'resume', output, '--concurrency', '2']);
    const resumed = await resume.done;
    expect(resumed.err).toMatch(/resuming batch/);
    // The resumed run stays on the queue the job was submitted to (the busy check above changed nothing).
    expect(resumed.err).toMatch(queue === 'bullmq' ? /queue: BullMQ es-batch-/ : /in-process queue/);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`completed: ${ROWS} rows, ${ROWS - rows.bad.size} scored`));

    const check = await checkAccounting(output, `${output}.failed.jsonl`, rows);
    expect(check).toMatchObject({ missing: [], twice: [], unknown: [], ordered: true, failedAsExpected: true });
    // Rows sent to the model by the resumed run: exactly the good rows of chunks not in the log at the kill. On
    // BullMQ too: the CLI's workers log a chunk before they report it, and a chunk the killed run had logged
    // but not reported comes back from BullMQ (its lock expired) and is skipped, not scored again.
    const goodLeft = rows.ids.filter((id, i) => !done.has(Math.floor(i / CHUNK)) && !rows.bad.has(id)).length;
    const scoredAgain = server.inferRows.reduce((a, b) => a + b, 0);
    expect(scoredAgain).toBe(goodLeft);
  }
}

const TITLE = 'loses no row and writes none twice, and scores only unfinished chunks again';

describe('batch submit, kill -9, batch resume (in-process queue)', () => {
  it(TITLE, () => killAndResume('in-process'), 90_000);
});

await describeWithEngine('redis', 'batch submit, kill -9, batch resume (BullMQ queue)', () => {
  it(TITLE, () => killAndResume('bullmq'), 90_000);
});
