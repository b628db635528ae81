/**
 * In-process throughput of the v2 infer path (router → validation → onnxruntime → JSON), no sockets:
 * `npx tsx functions/model-server/bench-inprocess.ts [seconds] [concurrency]`. The gateway figure of issue 5 is
 * measured by test/bench; this isolates what the model server itself costs per request.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { ModelServer } from './model-server.ts';

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 64);
const batching = process.argv.includes('--batching');

const dir = await mkdtemp(join(tmpdir(), 'es-bench-'));
const file = join(dir, 'model.onnx');
await writeFile(file, (await buildIrisModel()).model);
const server = new ModelServer();
await server.start();
await server.repository.load('iris', {
  storageUri: pathToFileURL(file).href,
  ...(batching ? { batching: { maxBatchSize: 64, maxLatencyMs: 2 } } : {}),
});

const body = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] }),
);
const request = {
  method: 'POST',
  path: '/v2/models/iris/infer',
  headers: { 'content-type': 'application/json' },
  body,
  signal: new AbortController().signal,
};

let done = 0;
const latencies: number[] = [];
const end = performance.now() + seconds * 1000;
const warmEnd = performance.now() + 1000;
async function worker(): Promise<void> {
  while (performance.now() < end) {
    const t0 = performance.now();
    const answer = await server.http(request);
    if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.body}`);
    if (t0 > warmEnd) {
      done++;
      latencies.push(performance.now() - t0);
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(3);
console.log(
  JSON.stringify({
    reqPerSec: Math.round(done / (seconds - 1)),
    concurrency,
    batching,
    sessionRuns: server.repository.get('iris')!.model.runs,
    p50ms: q(0.5),
    p99ms: q(0.99),
  }),
);
await server.close();
await rm(dir, { recursive: true, force: true });
