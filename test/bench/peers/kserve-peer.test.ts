import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildIrisModel } from '../../../functions/examples/iris/build-iris-model.ts';
import { PYTHON_ENVS } from '../../support/python/envs.ts';
import { describeWithPython, ensurePythonEnv } from '../../support/python/python-env.ts';
import { type KservePeer, startKservePeer } from './kserve-peer.ts';

const run = promisify(execFile);
const CLIENT = join(import.meta.dirname, '..', '..', 'support', 'python', 'triton_v2_client.py');

await describeWithPython('kserve', PYTHON_ENVS.kserve, 'KServe Python peer (kserve_onnx.py)', () => {
  let dir: string;
  let peer: KservePeer;
  let clientPython: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kserve-peer-'));
    const modelPath = join(dir, 'model.onnx');
    await writeFile(modelPath, (await buildIrisModel()).model);
    peer = await startKservePeer({ modelPath, logFile: join(dir, 'server.log') });
    clientPython = (await ensurePythonEnv('tritonclient', PYTHON_ENVS.tritonclient)).python;
  }, 900_000);

  afterAll(async () => {
    await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a v2 infer with the iris labels and echoes the id', async () => {
    const res = await fetch(peer.inferUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'peer-1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 7.7, 3.0, 6.1, 2.3] }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(body.id).toBe('peer-1');
    const label = body.outputs.find((o) => o.name === 'label');
    expect(label).toMatchObject({ shape: [2], data: [0, 2] });
    expect(body.outputs.find((o) => o.name === 'probabilities')?.shape).toEqual([2, 3]);
  });

  it('passes the tritonclient check (metadata, infer, output selection, 404) with a JSON content type', async () => {
    const { stdout } = await run(clientPython, [CLIENT, '--url', peer.url, '--model', 'iris', '--json-content-type'], {
      timeout: 60_000,
    });
    const report = JSON.parse(stdout) as { failures: string[]; infer: { label: number[] }; model_metadata: unknown };
    expect(report.failures).toEqual([]);
    expect(report.infer.label).toEqual([0, 1, 2]);
    expect(report.model_metadata).toMatchObject({ inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }] });
  });

  it('fails the client check when stock tritonclient sends no content type (KServe reads the body as binary)', async () => {
    const failed = await run(clientPython, [CLIENT, '--url', peer.url, '--model', 'iris'], { timeout: 60_000 }).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed?.code).toBe(1);
    const report = JSON.parse(failed!.stdout) as { failures: string[]; error: { status: string } };
    expect(report.failures).toContain('request failed');
    expect(report.error.status).toBe('400');
  });
});
