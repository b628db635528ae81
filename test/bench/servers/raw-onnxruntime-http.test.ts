import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../../../functions/examples/iris/build-iris-model.ts';
import { SINGLE_ROW_INFER } from '../fixtures/inference/resources.ts';
import { startScript, stop } from '../processes.ts';

describe('raw onnxruntime baseline server', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof startScript>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'es-raw-ort-'));
    const model = join(dir, 'iris.onnx');
    await writeFile(model, (await buildIrisModel()).model);
    server = await startScript('test/bench/servers/raw-onnxruntime-http.ts', [model], /(http:\/\/\S+)/);
  });
  afterAll(async () => {
    if (server) await stop(server.child);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the bench body with the model outputs, as the gateway does', async () => {
    const res = await fetch(`${server.match[1]}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: SINGLE_ROW_INFER,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    const probabilities = body.outputs.find((o) => o.name === 'probabilities')!;
    const label = body.outputs.find((o) => o.name === 'label')!;
    expect(probabilities.shape).toEqual([1, 3]);
    expect(probabilities.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // 5.1, 3.5, 1.4, 0.2 is a setosa (class 0).
    expect(label.data).toEqual([0]);
  });
});
