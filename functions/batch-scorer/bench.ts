/**
 * Batch throughput against its peer (issue 5, DESIGN §10): rows/s of `submitBatch` over N iris rows, on BullMQ
 * (when Redis answers) and on the in-process queue, against test/bench/peers/plain-script.ts (one process,
 * onnxruntime-node in batches of 256) on the same file, in the same run, rounds alternating, medians reported.
 * The model server is the real one (functions/model-server), built as the runtime builds a replica and run as its
 * own process, as a platform replica would be.
 *
 * Two ways of timing each side: inside the process (`plain_script_rows` is the script's own clock, `batch_rows*`
 * the time of `submitBatch` in a child), and as test/bench/suites/inference.ts does, from spawning the process to
 * its exit (`*_wall`: the script under tsx, `elastic-serving batch submit --queue bullmq`), which counts starting
 * the CLI and loading its modules on both sides.
 *
 * `npx tsx functions/batch-scorer/bench.ts [--rows 100000] [--rounds 3] [--concurrency 8] [--chunk-size 256]`
 * prints one JSON line per figure; `benchBatch()` returns them for test/bench suites.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { transpileHandler } from '../../services/runtime/transpile.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { DEFAULT_CONCURRENCY, submitBatch } from './batch.ts';
import { bullmq, ioredis } from './lazy-modules.ts';
import { openQueueBackend, type QueueMode } from './queue-choice.ts';
import { writeIrisRows } from './test-support/rows.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const BIN = join(ROOT, 'bin/elastic-serving.mjs');
const SELF = fileURLToPath(import.meta.url);

export interface BatchBenchOptions {
  /** Rows in the input file. @defaultValue 100000 */
  rows?: number;
  /** Rounds of each figure (median reported). @defaultValue 3 */
  rounds?: number;
  /** Chunks scored at once by the batch. @defaultValue DEFAULT_CONCURRENCY (8) */
  concurrency?: number;
  /** @defaultValue 256 */
  chunkSize?: number;
}

export interface BatchBenchFigure {
  metric:
    | 'batch_rows'
    | 'batch_rows_in_process'
    | 'plain_script_rows'
    | 'batch_rows_cli_wall'
    | 'plain_script_rows_wall';
  /** Median rows/s. */
  value: number;
  /** Every round's rows/s. */
  rounds: number[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Runs node with `args` in a child process; resolves with its stdout and wall time (spawn to exit). */
function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ out: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve({ out, ms: performance.now() - started })
        : reject(new Error(`${args.slice(0, 3).join(' ')} exited with ${code}: ${err.slice(-500)}`)),
    );
  });
}

/** Runs `script` with tsx in a child process; resolves with its stdout. */
function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args[0]} exited with ${code}`))));
  });
}

/** Starts the model server as a replica (bundled, plain node) serving `model` as iris; resolves with its URL. */
async function startModelServer(dir: string, model: string): Promise<{ url: string; child: ChildProcess }> {
  const config = join(dir, 'models.json');
  await writeFile(
    config,
    JSON.stringify([{ modelName: 'iris', modelSpec: { storageUri: pathToFileURL(model).href, framework: 'onnx' } }]),
  );
  const built = await transpileHandler({
    handler: 'functions/model-server/index.ts',
    namespace: 'bench',
    name: 'models',
    baseDir: ROOT,
    stateDir: join(dir, 'state'),
  });
  const child = spawn(process.execPath, [built.file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PORT: '0', ES_MODEL_CONFIG: config, LOG_LEVEL: 'info' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('model server did not report ready in 60 s')), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"port":(\d+)[^\n]*function ready/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  child.stdout!.resume();
  return { url: `http://127.0.0.1:${port}`, child };
}

/** One batch, in this process (the child mode): prints `<rows/s>`. */
async function oneBatch(
  url: string,
  input: string,
  output: string,
  mode: QueueMode,
  concurrency: number,
  chunkSize: number,
) {
  await rm(`${output}.job`, { recursive: true, force: true });
  // Loaded before the clock starts, as an import would (the `_wall` figures count loading the CLI's modules).
  if (mode === 'bullmq') {
    bullmq();
    ioredis();
  }
  const started = performance.now();
  const summary = await submitBatch({ model: 'iris', url, input, output, chunkSize }, { mode, concurrency });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${summary.rows / seconds}\n`);
}

export async function benchBatch(options: BatchBenchOptions = {}): Promise<BatchBenchFigure[]> {
  const rows = options.rows ?? 100_000;
  const rounds = options.rounds ?? 3;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const chunkSize = options.chunkSize ?? 256;
  const dir = await mkdtemp(join(tmpdir(), 'es-bench-batch-'));
  const model = join(dir, 'iris.onnx');
  await writeFile(model, (await buildIrisModel()).model);
  const input = join(dir, 'rows.jsonl');
  await writeIrisRows(input, rows);
  const redis = await openQueueBackend({ mode: 'auto' });
  const modes: QueueMode[] = redis.kind === 'bullmq' ? ['bullmq', 'in-process'] : ['in-process'];
  await redis.close();
  const server = await startModelServer(dir, model);
  const results: Record<BatchBenchFigure['metric'], number[]> = {
    plain_script_rows: [],
    batch_rows: [],
    batch_rows_in_process: [],
    plain_script_rows_wall: [],
    batch_rows_cli_wall: [],
  };
  try {
    for (let round = 0; round < rounds; round++) {
      const plain = await runNode([
        TSX,
        'test/bench/peers/plain-script.ts',
        '--model',
        model,
        '--input',
        input,
        '--output',
        join(dir, 'plain.jsonl'),
      ]);
      results.plain_script_rows.push(Number(/plain_script_rows (\d+)/.exec(plain.out)?.[1]));
      results.plain_script_rows_wall.push(rows / (plain.ms / 1000));
      for (const mode of modes) {
        const args = [server.url, input, join(dir, `out-${mode}.jsonl`), mode, String(concurrency), String(chunkSize)];
        const rate = Number((await runChild([SELF, '--one', ...args])).trim());
        results[mode === 'bullmq' ? 'batch_rows' : 'batch_rows_in_process'].push(rate);
      }
      if (modes.includes('bullmq')) {
        const output = join(dir, `cli-${round}.jsonl`);
        const cli = await runNode(
          [
            BIN,
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
            '--queue',
            'bullmq',
            '--chunk-size',
            String(chunkSize),
            '--concurrency',
            String(concurrency),
          ],
          { ...process.env, ES_PROGRESS: 'plain' },
        );
        results.batch_rows_cli_wall.push(rows / (cli.ms / 1000));
        await rm(`${output}.job`, { recursive: true, force: true });
      }
    }
  } finally {
    server.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
  return Object.entries(results)
    .filter(([, values]) => values.length > 0)
    .map(([metric, values]) => ({
      metric: metric as BatchBenchFigure['metric'],
      value: Math.round(median(values)),
      rounds: values.map(Math.round),
    }));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--one') {
    const [url, input, output, mode, concurrency, chunkSize] = argv.slice(1) as [
      string,
      string,
      string,
      QueueMode,
      string,
      string,
    ];
    await oneBatch(url, input, output, mode, Number(concurrency), Number(chunkSize));
    return;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      'chunk-size': { type: 'string' },
    },
  });
  const figures = await benchBatch({
    ...(values.rows ? { rows: Number(values.rows) } : {}),
    ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values['chunk-size'] ? { chunkSize: Number(values['chunk-size']) } : {}),
  });
  const plainOf = (metric: BatchBenchFigure['metric']) =>
    figures.find((f) => f.metric === (metric.endsWith('_wall') ? 'plain_script_rows_wall' : 'plain_script_rows'))
      ?.value ?? 0;
  for (const f of figures) {
    const plain = plainOf(f.metric);
    process.stdout.write(
      `${JSON.stringify({ ...f, unit: 'rows/s', ratio_to_plain: plain ? Number((f.value / plain).toFixed(3)) : null })}\n`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
