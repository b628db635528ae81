import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import {
  type BatchRunOptions,
  DEFAULT_CONCURRENCY,
  resumeBatch,
  submitBatch,
} from '../../../functions/batch-scorer/batch.ts';
import { BatchFailedError, type BatchSummary } from '../../../functions/batch-scorer/coordinator.ts';
import { DEFAULT_CHUNK_SIZE, jobStatus } from '../../../functions/batch-scorer/jobs.ts';
import { progressReporter } from '../../../functions/batch-scorer/progress.ts';
import { DEFAULT_REDIS_URL, type QueueMode } from '../../../functions/batch-scorer/queue-choice.ts';
import { ElasticServingError } from '../../core/errors.ts';
import { type CommandContext, examples } from '../context.ts';
import { CliError, UsageError } from '../errors.ts';
import { resolveKind } from '../kinds.ts';
import { findByName } from '../lookup.ts';
import { brokerUrl } from '../send-event.ts';
import { DEFAULT_INGRESS } from './send.ts';

export const DEFAULT_GATEWAY = 'http://127.0.0.1:8081';

interface RunFlags {
  redis?: string;
  queue?: QueueMode;
  concurrency?: string;
}

interface SubmitFlags extends RunFlags {
  model: string;
  input: string;
  output: string;
  isvc?: string;
  gateway?: string;
  chunkSize?: string;
  broker?: string;
  ingress?: string;
  job?: string;
}

function count(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} ${JSON.stringify(text)} must be an integer >= ${min}`);
  return n;
}

const queueOption = () =>
  new Option('--queue <kind>', 'auto: BullMQ when Redis answers, else in-process').choices([
    'auto',
    'bullmq',
    'in-process',
  ]);
const redisOption = () =>
  new Option('--redis <url>', `Redis for the BullMQ queue (env ES_REDIS_URL, default ${DEFAULT_REDIS_URL})`);
const concurrencyOption = () =>
  new Option(
    '--concurrency <n>',
    `chunks this process scores at once; 0 leaves them to batch-scorer replicas (default ${DEFAULT_CONCURRENCY})`,
  );

/** An InferenceService URL, or a name in the namespace behind the gateway. */
function serviceUrl(ctx: CommandContext, command: Command, isvc: string, gatewayFlag: string | undefined): string {
  if (/^https?:\/\//.test(isvc)) return isvc.replace(/\/+$/, '');
  const gateway = (gatewayFlag ?? ctx.io.env.ES_GATEWAY ?? DEFAULT_GATEWAY).replace(/\/+$/, '');
  const { namespace } = ctx.globals(command);
  return `${gateway}/${encodeURIComponent(namespace)}/${encodeURIComponent(isvc)}`;
}

/** `--isvc` as given (a URL or an InferenceService name), else the InferenceService of TrainedModel `model`. */
async function inferenceUrl(ctx: CommandContext, command: Command, flags: SubmitFlags): Promise<string> {
  if (flags.isvc) return serviceUrl(ctx, command, flags.isvc, flags.gateway);
  const { namespace } = ctx.globals(command);
  const found = await findByName(ctx.client(command), resolveKind('trainedmodels'), namespace, flags.model).catch(
    (err: Error) => {
      throw new UsageError(
        `--isvc not given and the control API could not say where model ${flags.model} is served (${err.message}); pass --isvc <url|name>`,
      );
    },
  );
  const isvc = (found[0]?.spec as { inferenceService?: unknown } | undefined)?.inferenceService;
  if (typeof isvc !== 'string') {
    throw new UsageError(`no TrainedModel "${flags.model}" in namespace "${namespace}": pass --isvc <url|name>`);
  }
  return serviceUrl(ctx, command, isvc, flags.gateway);
}

/** Runs a submit or resume with a progress display, Ctrl-C handling and the final report. */
async function runWithProgress(
  ctx: CommandContext,
  flags: RunFlags,
  go: (options: BatchRunOptions) => Promise<BatchSummary>,
): Promise<void> {
  const { io } = ctx;
  const tty =
    process.stderr.isTTY && io.env.CI !== 'true' && io.env.ES_PROGRESS !== 'plain' ? process.stderr : undefined;
  const progress = progressReporter({ ...(tty ? { tty } : {}), write: (t) => io.stderr(t) });
  const stop = new AbortController();
  void io.waitForShutdown().then(() => stop.abort(new Error('interrupted')));
  const lock = { lockDurationMs: io.env.ES_BATCH_LOCK_MS, stalledIntervalMs: io.env.ES_BATCH_STALLED_MS };
  let output = '';
  try {
    const summary = await go({
      ...(flags.queue ? { mode: flags.queue } : {}),
      ...((flags.redis ?? io.env.ES_REDIS_URL) ? { redisUrl: flags.redis ?? io.env.ES_REDIS_URL } : {}),
      concurrency: count('--concurrency', flags.concurrency, DEFAULT_CONCURRENCY, 0),
      ...(lock.lockDurationMs ? { lockDurationMs: Number(lock.lockDurationMs) } : {}),
      ...(lock.stalledIntervalMs ? { stalledIntervalMs: Number(lock.stalledIntervalMs) } : {}),
      signal: stop.signal,
      onStart: ({ manifest: m, resumed, durable, queueReason }) => {
        output = m.output;
        const what = `${m.input.rows} rows in ${m.chunks} chunks of ${m.chunkSize}`;
        io.stderr(`${resumed ? 'resuming' : 'submitted'} batch ${m.job}: model ${m.model} at ${m.url}, ${what}\n`);
        if (durable) io.stderr(`queue: BullMQ ${m.queue.name} on ${m.queue.redis}\n`);
        else {
          io.stderr(
            `warning: in-process queue (${queueReason}): queued chunks live only in this process and the queue cannot resume across a restart (chunks already written to ${m.output}.job are kept; \`batch resume\` redoes the rest)\n`,
          );
        }
      },
      onProgress: (p) => progress.update(p),
    });
    progress.stop();
    const seconds = summary.durationMs / 1000;
    io.stdout(
      `batch ${summary.job} completed: ${summary.rows} rows, ${summary.succeeded} scored → ${summary.output}, ${summary.failed} failed → ${summary.failedOutput} (${seconds.toFixed(1)} s)\n`,
    );
    if (summary.eventError) io.stderr(`warning: the completed event was not published: ${summary.eventError}\n`);
  } catch (err) {
    progress.stop();
    const hint = output ? `run \`elastic-serving batch resume ${output}\` to finish it` : undefined;
    if (stop.signal.aborted)
      throw new CliError('batch interrupted', { exitCode: 130, ...(hint ? { details: [hint] } : {}) });
    if (err instanceof BatchFailedError) throw new CliError(err.message);
    if (err instanceof ElasticServingError) throw new CliError(err.message);
    throw err;
  }
}

/** `<output>.job` directories (with a manifest) directly under `dir`. */
async function jobsIn(dir: string): Promise<string[]> {
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const jobs: string[] = [];
  for (const entry of names) {
    if (entry.isDirectory() && entry.name.endsWith('.job') && existsSync(join(dir, entry.name, 'manifest.json'))) {
      jobs.push(join(dir, entry.name));
    }
  }
  return jobs.sort();
}

export function registerBatch(program: Command, ctx: CommandContext): void {
  const batch = program
    .command('batch')
    .summary('score a JSONL/CSV file of rows with a model, in chunks on a queue')
    .description(
      'batch scoring: rows are split into chunks on a BullMQ queue (Redis) or, without Redis, an in-process queue; each chunk goes to the model server in one v2 infer call and is written as soon as it is scored, so an interrupted batch resumes where it stopped',
    )
    .addHelpText(
      'after',
      examples(
        'elastic-serving batch submit --model iris --input rows.jsonl --output scored.jsonl',
        'elastic-serving batch resume scored.jsonl',
        'elastic-serving batch status scored.jsonl',
      ),
    );

  batch
    .command('submit')
    .description('score every row of --input with --model; output rows are {id, ...model outputs}, in input order')
    .requiredOption('--model <name>', 'model name on the model server')
    .requiredOption(
      '--input <file>',
      'rows: JSONL, or CSV with a header (by extension); id = the row\'s "id" field, else its 0-based index',
    )
    .requiredOption('--output <file>', 'scored rows (JSONL); failed rows with reasons go to <output>.failed.jsonl')
    .option('--isvc <url|name>', "InferenceService URL, or name behind the gateway (default: the TrainedModel's)")
    .option('--gateway <url>', `function gateway for --isvc names (env ES_GATEWAY, default ${DEFAULT_GATEWAY})`)
    .option('--chunk-size <n>', `rows per chunk (one infer call) (default ${DEFAULT_CHUNK_SIZE})`)
    .addOption(redisOption())
    .addOption(queueOption())
    .addOption(concurrencyOption())
    .option('--broker <ns/name>', 'publish dev.elasticserving.batch.completed to this broker when done')
    .option('--ingress <url>', `broker ingress base URL (env ES_INGRESS, default ${DEFAULT_INGRESS})`)
    .option('--job <id>', 'job id (queue name, event source) (default: random)')
    .addHelpText(
      'after',
      examples(
        'elastic-serving batch submit --model iris --input rows.jsonl --output scored.jsonl',
        'elastic-serving batch submit --model iris --isvc http://127.0.0.1:8081/default/models --input rows.csv --output scored.jsonl --chunk-size 512',
        'elastic-serving batch submit --model iris --isvc models --input rows.jsonl --output s.jsonl --broker default --concurrency 0',
      ),
    )
    .action(async (flags: SubmitFlags, command: Command) => {
      const { namespace } = ctx.globals(command);
      const url = await inferenceUrl(ctx, command, flags);
      const ingress = flags.ingress ?? ctx.io.env.ES_INGRESS ?? DEFAULT_INGRESS;
      const spec = {
        model: flags.model,
        url,
        input: resolve(ctx.io.cwd, flags.input),
        output: resolve(ctx.io.cwd, flags.output),
        chunkSize: count('--chunk-size', flags.chunkSize, DEFAULT_CHUNK_SIZE, 1),
        ...(flags.broker ? { eventSink: brokerUrl(ingress, flags.broker, namespace) } : {}),
        ...(flags.job ? { job: flags.job } : {}),
      };
      await runWithProgress(ctx, flags, (options) => submitBatch(spec, options));
    });

  batch
    .command('resume')
    .description('finish an interrupted batch: written chunks are kept, chunks still queued are not queued again')
    .argument('<target>', "the batch's output file, or its <output>.job directory")
    .option('--isvc <url|name>', 'score the rest on this InferenceService instead (URL, or name behind the gateway)')
    .option('--gateway <url>', `function gateway for --isvc names (env ES_GATEWAY, default ${DEFAULT_GATEWAY})`)
    .addOption(redisOption())
    .addOption(queueOption())
    .addOption(concurrencyOption())
    .addHelpText(
      'after',
      examples('elastic-serving batch resume scored.jsonl', 'elastic-serving batch resume scored.jsonl.job'),
    )
    .action(async (target: string, flags: RunFlags & { isvc?: string; gateway?: string }, command: Command) => {
      const url = flags.isvc ? serviceUrl(ctx, command, flags.isvc, flags.gateway) : undefined;
      await runWithProgress(ctx, flags, (options) =>
        resumeBatch(resolve(ctx.io.cwd, target), { ...options, ...(url ? { url } : {}) }),
      );
    });

  batch
    .command('status')
    .description('show a batch job: running, stopped (resumable) or completed, rows and chunks done')
    .argument('[targets...]', 'output files or <output>.job directories (default: every job in this directory)')
    .addHelpText('after', examples('elastic-serving batch status scored.jsonl', 'elastic-serving batch status'))
    .action(async (given: string[]) => {
      const targets = given.length > 0 ? given : await jobsIn(ctx.io.cwd);
      if (targets.length === 0) ctx.io.stdout(`no batch jobs in ${ctx.io.cwd}\n`);
      for (const [i, target] of targets.entries()) {
        if (i > 0) ctx.io.stdout('\n');
        const s = await jobStatus(resolve(ctx.io.cwd, target)).catch((err: Error) => {
          throw new CliError(err.message);
        });
        const m = s.manifest;
        const lines = [
          `job:     ${m.job} (${s.state}${s.pid ? `, pid ${s.pid}` : ''})`,
          `model:   ${m.model} at ${m.url}`,
          `input:   ${m.input.path} (${m.input.rows} rows, ${m.input.format})`,
          `output:  ${m.output}`,
          `rows:    ${s.doneRows}/${m.input.rows}   chunks: ${s.doneChunks}/${m.chunks} of ${m.chunkSize}`,
          `queue:   ${m.queue.kind === 'bullmq' ? `BullMQ ${m.queue.name} on ${m.queue.redis}` : 'in-process (not durable)'}`,
        ];
        if (m.completed) {
          lines.push(`result:  ${m.completed.succeeded} scored, ${m.completed.failed} failed → ${m.failedOutput}`);
        } else if (s.state === 'stopped') lines.push(`resume:  elastic-serving batch resume ${m.output}`);
        ctx.io.stdout(`${lines.join('\n')}\n`);
      }
    });
}
