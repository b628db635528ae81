import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildIrisModel } from '../../../functions/examples/iris/build-iris-model.ts';
import { engineReachable, engines } from '../../support/engines.ts';
import { type PlatformProcess, startPlatformProcess } from '../../support/platform-process.ts';
import { answers200, atZero, isReady, statusOf, waitFor } from '../fixtures/inference/probes.ts';
import {
  irisIsvc,
  NAMESPACE,
  SINGLE_ROW_INFER,
  uploadPipeline,
  writeIrisRows,
} from '../fixtures/inference/resources.ts';
import { interleavedMedians, LOAD, type LoadResult, median, rateOnce } from '../load.ts';
import type { Suite } from '../main.ts';
import { startKservePeer } from '../peers/kserve-peer.ts';
import { ROOT, runScript, startScript, stop, timedProcess } from '../processes.ts';
import { type BenchResult, result } from '../report.ts';
import { type Stalls, stallsNote, watchStalls } from '../stall-probe.ts';

type Log = (msg: string) => void;

/** Open loop: requests per second, measured seconds (after the sender's own 2 s warm-up). */
const OPEN_LOOP = { rate: 1000, seconds: 10 } as const;
/** Uploads and cold starts measured (each after one unmeasured warm-up). */
const UPLOADS = 5;
const COLD_STARTS = 5;
/** Short autoscaler windows, so the cold InferenceService is back at zero about 3 s after each request. */
const SHORT_WINDOWS = ['--stable-window-ms', '2000', '--scale-to-zero-grace-ms', '500', '--autoscaler-tick-ms', '200'];
/** `up`'s default `--warm-pool`: a cold start is measured once the pool is full again. */
const DEFAULT_WARM_POOL = 2;
const BATCH_ROWS = 100_000;
const JSON_HEADERS = { 'content-type': 'application/json' };
const BIN = join(ROOT, 'bin', 'elastic-serving.mjs');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** The issue's figures of each platform, kept in the results (as not measured) when their part fails. */
const SERVING_METRICS: [string, string][] = [
  ['fastify_bare', 'req/s'],
  ['raw_onnxruntime_http', 'req/s'],
  ['v2_infer_single', 'req/s'],
  ['v2_infer_single_default_settings', 'req/s'],
  ['kserve_python_v2_infer', 'req/s'],
  ['v2_infer_p99_at_1000_ms', 'ms'],
  ['v2_infer_p99_at_1000_ms_default_settings', 'ms'],
];
const BATCH_METRICS: [string, string][] = [
  ['plain_script_rows', 'rows/s'],
  ['batch_rows', 'rows/s'],
];
/**
 * How InferenceService `iris` — the one every serving figure but the `_default_settings` ones measures — is set up
 * for throughput, as a KServe user serving small models would: Knative's target burst capacity 0 (the activator
 * steps out of the path once the replica is ready, and the gateway hands connections to it), and micro-batching
 * of concurrent requests with its defaults. `iris-defaults` serves the same model with neither.
 */
const TUNING = { targetBurstCapacity: 0, batching: true } as const;
const TUNING_NOTE = 'target-burst-capacity 0 (activator out of the path), batching on (defaults)';
const SHORT_WINDOW_METRICS: [string, string][] = [
  ['model_cold_start_ms', 'ms'],
  ['upload_to_ready_ms', 'ms'],
];

interface Context {
  work: string;
  /** The iris model every figure serves. */
  modelPath: string;
}

const each = (xs: number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join(' ');

/** The figures of a part that failed, kept in the results as NaN (null in JSON) with the reason. */
function notMeasured(metrics: [string, string][], err: unknown): BenchResult[] {
  const why = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return metrics.map(([m, unit]) => result(m, Number.NaN, unit, undefined, { note: `not measured: ${why}` }));
}

/** Runs one part of the suite; a failure is logged and its figures are kept as not measured. */
async function part(
  log: Log,
  name: string,
  metrics: [string, string][],
  body: () => Promise<BenchResult[]>,
): Promise<BenchResult[]> {
  const started = Date.now();
  try {
    return await body();
  } catch (err) {
    log(`${name} FAILED: ${(err as Error).stack ?? err}`);
    return notMeasured(metrics, err);
  } finally {
    log(`${name} took ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

/** Infers one row and checks the answer is the iris model's (so a throughput figure is not one of errors). */
async function checkInfer(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: SINGLE_ROW_INFER });
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"probabilities"'))
    throw new Error(`${url} answered ${res.status}: ${text}`);
}

/** Closed-loop req/s of `url` (DESIGN §10 settings), remembering each run's counts for the notes. */
function closedLoop(url: string, runs: LoadResult[]) {
  return () =>
    rateOnce(url, { headers: JSON_HEADERS, body: SINGLE_ROW_INFER }, async (run) => {
      const r = await run();
      runs.push(r);
      return r.okPerSecond;
    });
}

function runsNote(runs: LoadResult[]): string {
  const bad = runs.reduce((n, r) => n + r.non2xx + r.errors, 0);
  return `runs ${each(runs.map((r) => r.okPerSecond))}${bad ? `; ${bad} non-2xx or errors` : ''}`;
}

interface OpenLoop {
  sent: number;
  ok: number;
  failed: number;
  samples: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  firstError?: string;
  stalls: Stalls;
}

async function openLoop(url: string): Promise<OpenLoop> {
  const { value: out, stalls } = await watchStalls(() =>
    runScript('test/bench/fixtures/inference/open-loop-http.ts', [
      url,
      String(OPEN_LOOP.rate),
      String(OPEN_LOOP.seconds),
      SINGLE_ROW_INFER,
    ]),
  );
  return { ...(JSON.parse(out) as OpenLoop), stalls };
}

function openNote(o: OpenLoop): string {
  const err = o.firstError ? `; first error: ${o.firstError}` : '';
  return `${o.samples} samples (${o.ok} ok, ${o.failed} failed); p50 ${o.p50?.toFixed(2)} ms, max ${o.max?.toFixed(1)} ms; ${stallsNote(o.stalls)}${err}`;
}

/** v2 infer on the gateway (one replica) beside bare fastify and KServe's Python server, closed and open loop. */
async function servingFigures(ctx: Context, platform: PlatformProcess, log: Log): Promise<BenchResult[]> {
  const ours = `${platform.urls.gateway}/${NAMESPACE}/iris/v2/models/iris/infer`;
  const oursDefaults = `${platform.urls.gateway}/${NAMESPACE}/iris-defaults/v2/models/iris-defaults/infer`;
  await checkInfer(ours);
  await checkInfer(oursDefaults);
  log('starting bare fastify and the KServe Python peer (venv made on first use)');
  // Everything started is stopped, also when a later start fails (the KServe venv can).
  const servers: ChildProcess[] = [];
  let kserve: Awaited<ReturnType<typeof startKservePeer>> | undefined;
  try {
    const bare = await startScript('test/bench/servers/bare-fastify.ts', [], /(http:\/\/\S+)/);
    servers.push(bare.child);
    const raw = await startScript('test/bench/servers/raw-onnxruntime-http.ts', [ctx.modelPath], /(http:\/\/\S+)/);
    servers.push(raw.child);
    kserve = await startKservePeer({ modelPath: ctx.modelPath, logFile: join(ctx.work, 'kserve.log') });
    const bareUrl = `${bare.match[1]}/bench/bare`;
    const rawUrl = `${raw.match[1]}/v2/models/iris/infer`;
    await checkInfer(rawUrl);
    await checkInfer(kserve.inferUrl);
    const inPath = async (isvc: string) =>
      ((await statusOf(platform, 'inferenceservices', isvc))?.scaling as { activatorInPath?: boolean } | undefined)
        ?.activatorInPath;
    const [tunedInPath, defaultsInPath] = [await inPath('iris'), await inPath('iris-defaults')];
    log(
      `in turns ×${LOAD.runs}: bare fastify, raw onnxruntime over node:http, v2 infer on the gateway (tuned, then default settings), KServe (${LOAD.connections} connections, ${LOAD.warmupSeconds} + ${LOAD.measureSeconds} s, ${SINGLE_ROW_INFER.length} B single-row body)`,
    );
    const runs = {
      bare: [] as LoadResult[],
      raw: [] as LoadResult[],
      ours: [] as LoadResult[],
      oursDefaults: [] as LoadResult[],
      kserve: [] as LoadResult[],
    };
    const [bareRate, rawRate, oursRate, oursDefaultsRate, kserveRate] = await interleavedMedians([
      closedLoop(bareUrl, runs.bare),
      closedLoop(rawUrl, runs.raw),
      closedLoop(ours, runs.ours),
      closedLoop(oursDefaults, runs.oursDefaults),
      closedLoop(kserve.inferUrl, runs.kserve),
    ]);
    log(
      `open loop at ${OPEN_LOOP.rate} req/s for ${OPEN_LOOP.seconds} s each: bare fastify, ours (tuned, default settings), KServe`,
    );
    const bareOpen = await openLoop(bareUrl);
    const oursOpen = await openLoop(ours);
    const oursDefaultsOpen = await openLoop(oursDefaults);
    const kserveOpen = await openLoop(kserve.inferUrl);
    const body = `same ${SINGLE_ROW_INFER.length} B single-row v2 infer body`;
    return [
      result('fastify_bare', bareRate!, 'req/s', undefined, { note: `bare fastify, ${body}; ${runsNote(runs.bare)}` }),
      result(
        'raw_onnxruntime_http',
        rawRate!,
        'req/s',
        { name: 'fastify_bare', value: bareRate! },
        {
          note: `serving the model with nothing else: one process, node:http, JSON, session.run, no validation (test/bench/servers/raw-onnxruntime-http.ts); ${runsNote(runs.raw)}`,
        },
      ),
      result(
        'v2_infer_single',
        oursRate!,
        'req/s',
        { name: 'fastify_bare', value: bareRate! },
        {
          target: '>= 0.6 x fastify_bare',
          note: `POST /v2/models/iris/infer on the gateway, minReplicas = maxReplicas = 1, ${TUNING_NOTE}: activatorInPath ${tunedInPath}; ${(oursRate! / rawRate!).toFixed(2)} x raw_onnxruntime_http; ${runsNote(runs.ours)}`,
        },
      ),
      result(
        'v2_infer_single_default_settings',
        oursDefaultsRate!,
        'req/s',
        { name: 'fastify_bare', value: bareRate! },
        {
          note: `the same on InferenceService iris-defaults (target-burst-capacity 200, no batching): activatorInPath ${defaultsInPath}, every request relayed by the activator; ${(oursDefaultsRate! / rawRate!).toFixed(2)} x raw_onnxruntime_http; ${runsNote(runs.oursDefaults)}`,
        },
      ),
      result(
        'kserve_python_v2_infer',
        kserveRate!,
        'req/s',
        { name: 'v2_infer_single', value: oursRate! },
        {
          target: '<= 0.333 x v2_infer_single (ours >= 3 x theirs)',
          note: `ours/theirs = ${(oursRate! / kserveRate!).toFixed(2)}; kserve.ModelServer ${kserve.command.slice(1).join(' ')}; ${runsNote(runs.kserve)}`,
        },
      ),
      result('fastify_bare_p99_at_1000_ms', bareOpen.p99 ?? Number.NaN, 'ms', undefined, { note: openNote(bareOpen) }),
      result('kserve_python_v2_infer_p99_at_1000_ms', kserveOpen.p99 ?? Number.NaN, 'ms', undefined, {
        note: openNote(kserveOpen),
      }),
      result(
        'v2_infer_p99_at_1000_ms',
        oursOpen.p99 ?? Number.NaN,
        'ms',
        { name: 'kserve_python_v2_infer_p99_at_1000_ms', value: kserveOpen.p99 ?? Number.NaN },
        {
          target: '<= 5 ms, and lower than KServe (ratio < 1)',
          note: `latency from scheduled send to answer, ${TUNING_NOTE}; ${openNote(oursOpen)}`,
        },
      ),
      result(
        'v2_infer_p99_at_1000_ms_default_settings',
        oursDefaultsOpen.p99 ?? Number.NaN,
        'ms',
        { name: 'kserve_python_v2_infer_p99_at_1000_ms', value: kserveOpen.p99 ?? Number.NaN },
        { note: `iris-defaults (activator in the path, no batching); ${openNote(oursDefaultsOpen)}` },
      ),
    ];
  } finally {
    await kserve?.stop();
    for (const server of servers) await stop(server);
  }
}

async function countLines(path: string): Promise<number> {
  const text = await readFile(path, 'utf8');
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** `batch submit` (BullMQ on Redis, the model server behind the gateway) vs the plain script, on the same rows. */
async function batchFigures(ctx: Context, platform: PlatformProcess, log: Log): Promise<BenchResult[]> {
  if (!(await engineReachable('redis'))) throw new Error(`Redis is not reachable at ${engines.redis.url}`);
  const input = join(ctx.work, 'rows.jsonl');
  await writeIrisRows(input, BATCH_ROWS);
  const isvcUrl = `${platform.urls.gateway}/${NAMESPACE}/iris`;
  log(`batch: ${BATCH_ROWS} JSONL rows, in turns ×${LOAD.runs}: the plain script, then batch submit (BullMQ)`);
  const plainRuns: string[] = [];
  const batchRuns: string[] = [];
  let run = 0;
  const plain = async () => {
    const output = join(ctx.work, `plain-${run++}.jsonl`);
    const args = [TSX, 'test/bench/peers/plain-script.ts', '--model', ctx.modelPath, '--input', input];
    const { ms, out } = await timedProcess([...args, '--output', output]);
    if ((await countLines(output)) !== BATCH_ROWS) throw new Error(`plain script wrote a short output: ${out}`);
    plainRuns.push(`${ms.toFixed(0)} ms (own clock: ${/\((\d+ rows in \d+ ms)\)/.exec(out)?.[1]})`);
    await rm(output, { force: true });
    return BATCH_ROWS / (ms / 1000);
  };
  const batch = async () => {
    const output = join(ctx.work, `batch-${run++}.jsonl`);
    const args = [BIN, 'batch', 'submit', '--model', 'iris', '--isvc', isvcUrl, '--input', input, '--output', output];
    const { ms, out } = await timedProcess([...args, '--queue', 'bullmq', '--redis', engines.redis.url], {
      ...process.env,
      ES_PROGRESS: 'plain',
    });
    const scored = await countLines(output);
    if (scored !== BATCH_ROWS) throw new Error(`batch wrote ${scored} of ${BATCH_ROWS} rows: ${out.slice(-1500)}`);
    batchRuns.push(`${ms.toFixed(0)} ms (own clock: ${/\(([\d.]+ s)\)\s*$/m.exec(out)?.[1]})`);
    await rm(output, { force: true });
    await rm(`${output}.job`, { recursive: true, force: true });
    await rm(`${output}.failed.jsonl`, { force: true });
    return BATCH_ROWS / (ms / 1000);
  };
  const [plainRate, batchRate] = await interleavedMedians([plain, batch]);
  const wall = 'rows / wall time from spawning the process to its exit';
  return [
    result('plain_script_rows', plainRate!, 'rows/s', undefined, {
      note: `test/bench/peers/plain-script.ts, batches of 256, ${BATCH_ROWS} rows; ${wall}; runs ${plainRuns.join(', ')}`,
    }),
    result(
      'batch_rows',
      batchRate!,
      'rows/s',
      { name: 'plain_script_rows', value: plainRate! },
      {
        target: '>= 0.5 x plain_script_rows',
        note: `elastic-serving batch submit --queue bullmq (Redis), default chunk size and concurrency, 1 model-server replica; ${wall}; runs ${batchRuns.join(', ')}`,
      },
    ),
  ];
}

/** Throughput, open-loop latency and batch figures, on one platform serving InferenceService `iris` (1 replica). */
async function onServingPlatform(ctx: Context, log: Log): Promise<BenchResult[]> {
  log('platform with InferenceServices iris and iris-defaults (minReplicas = maxReplicas = 1)');
  const platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn', '--redis', engines.redis.url]);
  try {
    const one = { min: 1, max: 1 };
    const yaml = `${irisIsvc('iris', ctx.modelPath, one, TUNING)}---\n${irisIsvc('iris-defaults', ctx.modelPath, one)}`;
    const applied = await platform.cli(['apply', '-f', '-'], yaml);
    if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
    for (const isvc of ['iris', 'iris-defaults']) {
      const ready = `${platform.urls.gateway}/${NAMESPACE}/${isvc}/v2/models/${isvc}/ready`;
      await waitFor(`InferenceService ${isvc} to serve its model`, () => answers200(ready));
    }
    return [
      ...(await part(log, 'serving', SERVING_METRICS, () => servingFigures(ctx, platform, log))),
      ...(await part(log, 'batch', BATCH_METRICS, () => batchFigures(ctx, platform, log))),
    ];
  } finally {
    await platform.stop();
  }
}

/** Copies fresh models into the watched bucket; ms from the copy to the model's v2 ready answering 200. */
async function uploadFigures(ctx: Context, platform: PlatformProcess, log: Log): Promise<BenchResult[]> {
  const bucket = join(ctx.work, 'bucket');
  await mkdir(join(bucket, 'models'), { recursive: true });
  const applied = await platform.cli(['apply', '-f', '-'], uploadPipeline(bucket, 'models'));
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  await waitFor(
    'StorageSource bench-bucket to be Ready',
    () => isReady(platform, 'storagesources', 'bench-bucket'),
    20_000,
  );
  await waitFor('model-deployer to be Ready', () => isReady(platform, 'functions', 'model-deployer'));
  await waitFor('its trigger to be Ready', () => isReady(platform, 'triggers', 'storage-to-deployer'));
  const isvc = `${platform.urls.gateway}/${NAMESPACE}/models`;
  await waitFor('InferenceService models to be ready', () => answers200(`${isvc}/v2/health/ready`));
  log(`upload → ready: ${UPLOADS} fresh models (after 1 unmeasured) copied into ${bucket}/models/<name>/model.onnx`);
  const times: number[] = [];
  for (let i = 0; i <= UPLOADS; i++) {
    // A model of its own per upload (another seed), staged beside the bucket so the copy is the whole upload.
    const staged = join(ctx.work, `upload-${i}.onnx`);
    await writeFile(staged, (await buildIrisModel({ seed: 100 + i })).model);
    const name = `up${i}-${Date.now().toString(36)}`;
    const ready = `${isvc}/v2/models/${name}/ready`;
    const started = performance.now();
    await mkdir(join(bucket, 'models', name));
    await copyFile(staged, join(bucket, 'models', name, 'model.onnx'));
    await waitFor(`model ${name} to be ready`, () => answers200(ready), 20_000, 5);
    const ms = performance.now() - started;
    if (i > 0) times.push(ms);
    else log(`warm-up upload: ${ms.toFixed(0)} ms`);
  }
  return [
    result('upload_to_ready_ms', median(times), 'ms', undefined, {
      target: '<= 1000 ms',
      note: `median of ${times.length}: ${each(times)}; directory StorageSource (default stability window) → broker → model-deployer → TrainedModel → model server; ready polled every 5 ms`,
    }),
  ];
}

/** ms from spawning `node -e` to the answer of one row run by a fresh onnxruntime session: the floor of a cold start. */
function freshOnnxruntime(modelPath: string): Promise<number> {
  const code = `const ort = require('onnxruntime-node');
ort.InferenceSession.create(require('node:fs').readFileSync(process.argv[1]))
  .then((s) => s.run({ input: new ort.Tensor('float32', Float32Array.from([5.1, 3.5, 1.4, 0.2]), [1, 4]) }))
  .then((r) => process.stdout.write(r.label.data[0] + '\\n'));`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', code, modelPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    let answered: number | undefined;
    child.stdout.once('data', () => (answered = performance.now() - started));
    // Settled at exit, so the process is gone before the cold start it stands beside.
    child.on('exit', (c) =>
      c === 0 && answered !== undefined
        ? resolve(answered)
        : reject(new Error(`node -e onnxruntime exited ${c}: ${err}`)),
    );
  });
}

/** From zero replicas to the answer of one v2 infer call, beside a fresh onnxruntime process each time. */
async function coldStartFigures(ctx: Context, platform: PlatformProcess, log: Log): Promise<BenchResult[]> {
  const name = 'iris-cold';
  const yaml = irisIsvc(name, ctx.modelPath, { min: 0, max: 1, initialScale: 0 });
  const applied = await platform.cli(['apply', '-f', '-'], yaml);
  if (applied.code !== 0) throw new Error(`apply failed: ${applied.stderr}`);
  const infer = `${platform.urls.gateway}/${NAMESPACE}/${name}/v2/models/${name}/infer`;
  log(`cold starts: ${COLD_STARTS} (after 1 unmeasured) v2 infer calls to ${name} at zero replicas`);
  const colds: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i <= COLD_STARTS; i++) {
    await waitFor(`${name} to be at zero`, () => atZero(platform, name, DEFAULT_WARM_POOL), 30_000, 100);
    const floor = await freshOnnxruntime(ctx.modelPath);
    await sleep(300);
    const started = performance.now();
    const res = await fetch(infer, { method: 'POST', headers: JSON_HEADERS, body: SINGLE_ROW_INFER });
    const text = await res.text();
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`cold infer answered ${res.status}: ${text}`);
    if (i === 0) {
      log(`warm-up cold start: ${ms.toFixed(0)} ms`);
      continue;
    }
    colds.push(ms);
    floors.push(floor);
  }
  const floor = { name: 'onnxruntime_fresh_process_ms', value: median(floors) };
  return [
    result(floor.name, floor.value, 'ms', undefined, {
      note: `spawn of \`node -e\` → onnxruntime-node session → one row answered; median of ${floors.length}: ${each(floors)}`,
    }),
    result('model_cold_start_ms', median(colds), 'ms', floor, {
      target: '<= 400 ms',
      note: `v2 infer from send to answer with 0 replicas (warm pool ${DEFAULT_WARM_POOL}, ${SHORT_WINDOWS.join(' ')}); median of ${colds.length}: ${each(colds)}`,
    }),
  ];
}

/** Upload-to-ready and cold-start figures, on one platform with short autoscaler windows. */
async function onShortWindowPlatform(ctx: Context, log: Log): Promise<BenchResult[]> {
  log(`platform with short autoscaler windows (${SHORT_WINDOWS.join(' ')})`);
  const platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn', ...SHORT_WINDOWS]);
  try {
    return [
      ...(await part(log, 'cold start', SHORT_WINDOW_METRICS.slice(0, 1), () => coldStartFigures(ctx, platform, log))),
      ...(await part(log, 'upload', SHORT_WINDOW_METRICS.slice(1), () => uploadFigures(ctx, platform, log))),
    ];
  } finally {
    await platform.stop();
  }
}

export const inferenceSuite: Suite = {
  name: 'inference',
  description:
    'model server: v2 infer vs bare fastify and KServe Python, open-loop p99, upload → ready, cold start, batch vs a plain script',
  async run(log) {
    const work = await mkdtemp(join(tmpdir(), 'es-bench-inference-'));
    try {
      const { model, accuracy } = await buildIrisModel();
      const ctx: Context = { work, modelPath: join(work, 'iris.onnx') };
      await writeFile(ctx.modelPath, model);
      log(`iris model: ${model.length} bytes, accuracy ${accuracy.toFixed(3)}, at ${ctx.modelPath}`);
      // Each platform's parts catch their own failures; these catch a platform that would not start or serve.
      const serving = await part(log, 'serving platform', [...SERVING_METRICS, ...BATCH_METRICS], () =>
        onServingPlatform(ctx, log),
      );
      const short = await part(log, 'short-window platform', SHORT_WINDOW_METRICS, () =>
        onShortWindowPlatform(ctx, log),
      );
      return [...serving, ...short];
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};
