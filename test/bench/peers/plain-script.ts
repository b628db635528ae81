/**
 * The batch-scoring peer: what a user would write instead of the platform — one process reads a JSONL of
 * `{"id", "features": [4 floats]}` rows, runs the model with onnxruntime-node in batches of 256 and writes
 * `{"id", "label", "probabilities"}` lines in input order. No resume, no scale-out, no failed-row file.
 *
 * CLI: `tsx test/bench/peers/plain-script.ts --model model.onnx --input rows.jsonl --output out.jsonl`
 * prints `plain_script_rows <rows/s> rows/s (<n> rows in <ms> ms)`.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

/** What to score. */
export interface PlainScriptOptions {
  /** Path of the iris-shaped model (input `input` FP32 [-1,4]; outputs `probabilities`, `label`). */
  model: string;
  /** JSONL input, one `{"id", "features": [4 numbers]}` per line. */
  input: string;
  /** JSONL output path (overwritten). */
  output: string;
  /**
   * Rows per `session.run`.
   * @defaultValue 256
   */
  batchSize?: number;
}

/** What a run did. */
export interface PlainScriptResult {
  /** Rows scored. */
  rows: number;
  /** Wall time from opening the input to the output being flushed, model loading included. */
  ms: number;
  /** rows / seconds. */
  rowsPerSecond: number;
}

interface Row {
  id: unknown;
  features: number[];
}

/** Scores `input` into `output`. */
export async function runPlainScript(options: PlainScriptOptions): Promise<PlainScriptResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 256;
  const session = await ort.InferenceSession.create(await readFile(options.model));
  const out = createWriteStream(options.output);
  const lines = createInterface({ input: createReadStream(options.input), crlfDelay: Number.POSITIVE_INFINITY });
  let batch: Row[] = [];
  let rows = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const features = new Float32Array(batch.length * 4);
    batch.forEach((row, i) => {
      features.set(row.features, i * 4);
    });
    const result = await session.run({ input: new ort.Tensor('float32', features, [batch.length, 4]) });
    const probabilities = result.probabilities!.data as Float32Array;
    const labels = result.label!.data as BigInt64Array;
    let text = '';
    batch.forEach((row, i) => {
      const p = Array.from(probabilities.subarray(i * 3, i * 3 + 3));
      text += `${JSON.stringify({ id: row.id, label: Number(labels[i]), probabilities: p })}\n`;
    });
    rows += batch.length;
    batch = [];
    if (!out.write(text)) await once(out, 'drain');
  };

  for await (const line of lines) {
    if (line.trim() === '') continue;
    batch.push(JSON.parse(line) as Row);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  await session.release();
  const ms = performance.now() - started;
  return { rows, ms, rowsPerSecond: rows / (ms / 1000) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || !values.model || !values.input || !values.output) {
    process.stdout.write(
      'Usage: tsx test/bench/peers/plain-script.ts --model model.onnx --input rows.jsonl --output out.jsonl [--batch-size 256]\n',
    );
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  const r = await runPlainScript({ model: values.model, input: values.input, output: values.output, batchSize });
  process.stdout.write(
    `plain_script_rows ${r.rowsPerSecond.toFixed(0)} rows/s (${r.rows} rows in ${r.ms.toFixed(0)} ms)\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
