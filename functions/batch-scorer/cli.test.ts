// `elastic-serving batch …` run in-process through runCli: help, usage errors, a whole submit and its status.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../services/cli/main.ts';
import { captureIo } from '../../services/cli/test-io.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import { writeIrisRows } from './test-support/rows.ts';

let dir: string;
let server: OnnxHttpServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batch-cli-inproc-'));
  server = await startOnnxHttpServer((await buildIrisModel()).model, 'iris');
  await writeIrisRows(join(dir, 'rows.jsonl'), 700, (i) => i === 9);
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}, cwd = dir) {
  // Nothing listens on port 9: the control API "is down" unless a test says otherwise.
  const io = captureIo({ cwd, env: { ES_SERVER: 'http://127.0.0.1:9', ...env } });
  const code = await runCli(args, io);
  return { code, out: io.stdoutText, err: io.stderrText };
}

describe('elastic-serving batch', () => {
  it.each([
    ['batch', '--help', ''],
    ['batch', 'submit', '--help'],
    ['batch', 'resume', '--help'],
    ['batch', 'status', '--help'],
  ])('%s %s %s answers --help', async (...args) => {
    const r = await cli(args.filter(Boolean) as string[]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: elastic-serving batch/);
    expect(r.out).toMatch(/Examples:/);
  });

  it('refuses bad usage with exit code 2 and a reason', async () => {
    const noIsvc = await cli(['batch', 'submit', '--model', 'iris', '--input', 'rows.jsonl', '--output', 'o.jsonl']);
    expect(noIsvc.code).toBe(2);
    expect(noIsvc.err).toMatch(/pass --isvc/);
    const zero = await cli([
      'batch',
      'submit',
      '--model',
      'iris',
      '--isvc',
      server.url,
      '--input',
      'rows.jsonl',
      '--output',
      'o.jsonl',
      '--chunk-size',
      '0',
    ]);
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/--chunk-size "0" must be an integer >= 1/);
    const missing = await cli([
      'batch',
      'submit',
      '--model',
      'iris',
      '--isvc',
      server.url,
      '--input',
      'nope.jsonl',
      '--output',
      'o.jsonl',
      '--queue',
      'in-process',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope.jsonl does not exist/);
    const noRedis = await cli([
      'batch',
      'submit',
      '--model',
      'iris',
      '--isvc',
      server.url,
      '--input',
      'rows.jsonl',
      '--output',
      'o.jsonl',
      '--queue',
      'bullmq',
      '--redis',
      'redis://127.0.0.1:9',
    ]);
    expect(noRedis.code).toBe(1);
    expect(noRedis.err).toMatch(/Redis at redis:\/\/127\.0\.0\.1:9 is not reachable/);
    const nothing = await cli(['batch', 'resume', 'never.jsonl']);
    expect(nothing.code).toBe(1);
    expect(nothing.err).toMatch(/no batch job at .*never.jsonl.job/);
  });

  it('without Redis, submits on the in-process queue, says it cannot resume across a restart, reports the result', async () => {
    const r = await cli([
      'batch',
      'submit',
      '--model',
      'iris',
      '--isvc',
      server.url,
      '--input',
      'rows.jsonl',
      '--output',
      'out/s.jsonl',
      '--redis',
      'redis://127.0.0.1:9',
      '--chunk-size',
      '100',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/submitted batch \S+: model iris at http:\/\/127\.0\.0\.1:\d+, 700 rows in 7 chunks of 100/);
    expect(r.err).toMatch(
      /in-process queue \(Redis at redis:\/\/127\.0\.0\.1:9 is not reachable: .*\): queued chunks live only in this process and the queue cannot resume across a restart/,
    );
    // Not a terminal: plain progress lines, the last one at 100 %.
    expect(r.err).toMatch(/700\/700 rows \(100\.0%\), \d+ rows\/s, ETA 0s, 1 failed/);
    expect(r.out).toMatch(/completed: 700 rows, 699 scored → .*out\/s\.jsonl, 1 failed → .*s\.jsonl\.failed\.jsonl/);
    const status = await cli(['batch', 'status', 'out/s.jsonl']);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/\(completed\)/);
    expect(status.out).toMatch(/rows: {4}700\/700/);
    expect(status.out).toMatch(/699 scored, 1 failed/);
    const all = await cli(['batch', 'status'], {}, join(dir, 'out'));
    expect(all.out).toMatch(/\(completed\)/);
    expect((await cli(['batch', 'status'], {}, join(dir, 'nothing-here'))).out).toMatch(/no batch jobs in/);
  });
});
