// Models as resources, end to end (issue 5): an InferenceService served by the model server, TrainedModels loaded
// and unloaded without a restart, a broken model beside working ones, scale-out replicas that hold every model
// before they take traffic, and the upload story: a file dropped into a watched bucket is served, announced by a
// model.ready event, and answers inference requests sent as CloudEvents.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../../functions/examples/iris/build-iris-model.ts';
import { type PlatformProcess, startPlatformProcess } from '../support/platform-process.ts';
import { startSubscriber } from '../support/subscriber.ts';
import { apply, broker, getObject, post, sleep, uniqueNames, waitCondition, waitReadyWhere } from './e2e-helpers.ts';

const unique = uniqueNames('models');
const ROWS = { name: 'input', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] };

function isvcYaml(name: string, predictor: string) {
  return `apiVersion: serving.elastic-serving.dev/v1
kind: InferenceService
metadata: { name: ${name}, namespace: default }
spec:
  predictor:
${predictor}
`;
}

function trainedModel(name: string, isvc: string, uri: string) {
  return `apiVersion: serving.kserve.io/v1alpha1
kind: TrainedModel
metadata: { name: ${name}, namespace: default }
spec:
  inferenceService: ${isvc}
  model: { storageUri: "${uri}", framework: onnx, memory: 1Mi }
`;
}

async function infer(url: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'e2e', inputs: [ROWS] }),
  });
  return { status: res.status, body: (await res.json()) as { outputs?: { name: string; data: number[] }[] } };
}

/** Ports of the ready replicas of `name`, from the "function ready" line each replica logs. */
function replicaPorts(platform: PlatformProcess, name: string): number[] {
  const dir = join(platform.stateDir, 'logs', 'default', name);
  return readdirSync(dir)
    .map((f) => /"port":(\d+)/.exec(readFileSync(join(dir, f), 'utf8'))?.[1])
    .filter((p): p is string => p !== undefined)
    .map(Number);
}

let dir: string;
let modelFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'es-models-'));
  modelFile = join(dir, 'iris.onnx');
  await writeFile(modelFile, (await buildIrisModel()).model);
  await writeFile(join(dir, 'broken.onnx'), 'this is not an onnx model');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('InferenceService and TrainedModels on the embedded platform', () => {
  let platform: PlatformProcess;
  beforeAll(async () => {
    platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
  }, 60_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it('serves its own model, loads and unloads TrainedModels, keeps serving beside a broken one', async () => {
    const isvc = unique('isvc');
    await apply(
      platform,
      isvcYaml(
        isvc,
        `    model: { modelFormat: { name: onnx }, storageUri: "file://${modelFile}" }\n    minReplicas: 1`,
      ),
    );
    const ready = await waitCondition(platform, 'inferenceservice', isvc, 'True', 30_000);
    const base = `${platform.urls.gateway}/default/${isvc}`;
    expect(ready.status?.url).toBe(base);
    const own = await infer(`${base}/v2/models/${isvc}/infer`);
    expect(own.status).toBe(200);
    expect(own.body.outputs?.find((o) => o.name === 'label')?.data).toEqual([0, 2]);

    const good = unique('good');
    const bad = unique('bad');
    await apply(
      platform,
      `${trainedModel(good, isvc, `file://${modelFile}`)}---\n${trainedModel(bad, isvc, `file://${join(dir, 'broken.onnx')}`)}`,
    );
    const tm = await waitCondition(platform, 'trainedmodel', good, 'True', 30_000);
    expect(tm.status?.url).toBe(`${base}/v2/models/${good}/infer`);
    expect((await infer(String(tm.status?.url))).status).toBe(200);
    const failed = await waitCondition(platform, 'trainedmodel', bad, 'False', 30_000);
    const why = failed.status?.conditions?.find((c) => c.type === 'Ready');
    expect(why?.reason).toBe('ModelLoadFailed');
    expect(why?.message).toMatch(/onnx|protobuf|model/i);
    // The broken model took nothing down.
    expect((await infer(`${base}/v2/models/${good}/infer`)).status).toBe(200);
    expect((await infer(`${base}/v2/models/${isvc}/infer`)).status).toBe(200);
    const index = (await (await fetch(`${base}/v2/repository/index`, { method: 'POST' })).json()) as {
      name: string;
      state: string;
    }[];
    expect(index.find((m) => m.name === bad)?.state).toBe('UNAVAILABLE');

    const del = await platform.cli(['delete', 'trainedmodel', good]);
    expect(del.code, del.stderr).toBe(0);
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${base}/v2/models/${good}/ready`)).status !== 404) {
      if (Date.now() > deadline) throw new Error(`${good} still served after its TrainedModel was deleted`);
      await sleep(50);
    }
    expect((await infer(`${base}/v2/models/${isvc}/infer`)).status).toBe(200);
  }, 90_000);

  it('a replica added by scale-out holds every TrainedModel before it reports ready', async () => {
    const isvc = unique('scale');
    const models = [unique('m'), unique('m')];
    await apply(platform, isvcYaml(isvc, '    minReplicas: 1\n    maxReplicas: 3'));
    await waitCondition(platform, 'inferenceservice', isvc, 'True', 30_000);
    await apply(platform, models.map((m) => trainedModel(m, isvc, `file://${modelFile}`)).join('---\n'));
    for (const m of models) await waitCondition(platform, 'trainedmodel', m, 'True', 30_000);

    await apply(platform, isvcYaml(isvc, '    minReplicas: 3\n    maxReplicas: 3'));
    await waitReadyWhere(platform, 'inferenceservice', isvc, () => true, 30_000);
    const deadline = Date.now() + 30_000;
    while (Number((await getObject(platform, 'inferenceservice', isvc))?.status?.readyReplicas) < 3) {
      if (Date.now() > deadline) throw new Error('scale-out to 3 replicas did not finish');
      await sleep(100);
    }
    const ports = replicaPorts(platform, isvc);
    expect(ports.length).toBeGreaterThanOrEqual(3);
    // Asked directly, bypassing the gateway: every replica serves every model.
    for (const port of ports) {
      for (const m of models) {
        const r = await fetch(`http://127.0.0.1:${port}/v2/models/${m}/ready`);
        expect(r.status, `replica on ${port}, model ${m}`).toBe(200);
      }
    }
  }, 120_000);
});

describe('upload to a watched bucket → model ready → inference as CloudEvents', () => {
  let platform: PlatformProcess;
  let bucket: string;
  let sink: Awaited<ReturnType<typeof startSubscriber>>;
  const isvc = 'models';
  beforeAll(async () => {
    bucket = join(dir, 'bucket');
    await mkdir(bucket, { recursive: true });
    sink = await startSubscriber();
    platform = await startPlatformProcess(['--no-demo', '--log-level', 'warn']);
    await apply(
      platform,
      [
        broker('default'),
        isvcYaml(isvc, '    minReplicas: 1'),
        `apiVersion: sources.elastic-serving.dev/v1
kind: StorageSource
metadata: { name: bucket, namespace: default }
spec:
  directory: { path: "${bucket}", stabilityWindow: PT0.1S }
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
        `apiVersion: serving.elastic-serving.dev/v1
kind: Function
metadata: { name: model-deployer, namespace: default }
spec:
  handler: functions/model-deployer/index.ts
  scaling: { minScale: 1, maxScale: 1 }
`,
        `apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: storage, namespace: default }
spec:
  broker: default
  filters: [{ prefix: { type: dev.elasticserving.storage.object. } }]
  subscriber: { ref: { kind: Function, name: model-deployer } }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: infer, namespace: default }
spec:
  broker: default
  filters: [{ exact: { type: dev.elasticserving.inference.request } }]
  subscriber: { ref: { kind: InferenceService, name: ${isvc} } }
---
apiVersion: eventing.elastic-serving.dev/v1
kind: Trigger
metadata: { name: watch, namespace: default }
spec:
  broker: default
  filters:
    - any:
        - prefix: { type: dev.elasticserving.model. }
        - exact: { type: dev.elasticserving.inference.response }
  subscriber: { uri: "${sink.url}" }
`,
      ].join('---\n'),
    );
    for (const t of ['storage', 'infer', 'watch']) await waitCondition(platform, 'trigger', t, 'True', 30_000);
    await waitCondition(platform, 'storagesource', 'bucket', 'True', 30_000);
    await waitCondition(platform, 'function', 'model-deployer', 'True', 30_000);
  }, 90_000);
  afterAll(async () => {
    await platform?.stop();
    await sink?.close();
  });

  const eventsOf = (type: string) =>
    sink.received
      .filter((r) => r.headers['ce-type'] === type)
      .map((r) => ({ subject: r.headers['ce-subject'], data: JSON.parse(r.body.toString()) }));

  async function waitEvent(type: string, match: (e: { subject: unknown; data: Record<string, unknown> }) => boolean) {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = eventsOf(type).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${type} event; got ${sink.received.map((r) => r.headers['ce-type'])}`);
      await sleep(20);
    }
  }

  it('serves an uploaded model, says model.ready, answers a CloudEvent inference request, survives a broken upload, unloads on delete', async () => {
    const model = unique('up');
    const target = join(bucket, 'models', model, 'model.onnx');
    await mkdir(join(target, '..'), { recursive: true });
    const t0 = Date.now();
    await writeFile(target, readFileSync(modelFile));
    const ready = await waitEvent('dev.elasticserving.model.ready', (e) => e.data.model === model);
    const tookMs = Date.now() - t0;
    console.log(`[e2e] upload → model.ready in ${tookMs} ms`);
    expect(ready.data.url).toBe(`${platform.urls.gateway}/default/${isvc}/v2/models/${model}/infer`);
    expect((await infer(String(ready.data.url))).status).toBe(200);

    const sent = await post(
      `${platform.urls.ingress}/default/default`,
      'infer-1',
      'dev.elasticserving.inference.request',
      { 'content-type': 'application/json', 'ce-model': model, 'ce-partitionkey': 'k1' },
      JSON.stringify({ id: 'ce-1', inputs: [ROWS] }),
    );
    expect(sent.status).toBe(202);
    const reply = await waitEvent('dev.elasticserving.inference.response', (e) => e.data.id === 'ce-1');
    const outputs = reply.data.outputs as { name: string; data: number[] }[];
    expect(outputs.find((o) => o.name === 'label')?.data).toEqual([0, 2]);

    const bad = unique('bad');
    await mkdir(join(bucket, 'models', bad), { recursive: true });
    await writeFile(join(bucket, 'models', bad, 'model.onnx'), 'not a model');
    const failed = await waitEvent('dev.elasticserving.model.failed', (e) => e.data.model === bad);
    expect(String(failed.data.reason)).not.toBe('');
    expect((await infer(String(ready.data.url))).status).toBe(200);

    await rm(target);
    await waitEvent('dev.elasticserving.model.removed', (e) => e.data.model === model);
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${platform.urls.gateway}/default/${isvc}/v2/models/${model}/ready`)).status !== 404) {
      if (Date.now() > deadline) throw new Error('model still served after its object was deleted');
      await sleep(50);
    }
  }, 90_000);
});
