/**
 * The model server as a replica runs it: the handler module (index.ts) served by the SDK over real HTTP, with a
 * model config file. Covers the wiring (init loads before ready, `http` routes, CloudEvents to the handler) and
 * the repository extension's load semantics the platform relies on.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FunctionDefinition, RunningFunction } from 'elastic-serving/sdk';
import { serve } from 'elastic-serving/sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import type { ModelServer } from './model-server.ts';
import { type ModelFiles, modelFiles } from './test-support/fixtures.ts';
import { addSubModel } from './test-support/onnx-builder.ts';

let files: ModelFiles;
let configPath: string;
let running: RunningFunction;
let server: ModelServer;
let base: string;
let irisUri: string;
let addUri: string;

async function writeConfig(models: Record<string, object>): Promise<void> {
  const tmp = `${configPath}.tmp`;
  await writeFile(
    tmp,
    JSON.stringify(Object.entries(models).map(([modelName, modelSpec]) => ({ modelName, modelSpec }))),
  );
  await rename(tmp, configPath);
}

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const v2Body = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: SETOSA }] };

beforeAll(async () => {
  files = await modelFiles();
  configPath = join(files.dir, 'models.json');
  irisUri = await files.write('models/iris/model.onnx', (await buildIrisModel()).model);
  addUri = await files.write('models/add/model.onnx', addSubModel());
  await writeConfig({
    iris: { storageUri: irisUri, framework: 'onnx', memory: '64Mi' },
    broken: { storageUri: await files.write('models/broken/model.onnx', 'garbage') },
  });
  process.env.ES_MODEL_CONFIG = configPath;
  const mod = (await import('./index.ts')) as { default: FunctionDefinition; server: ModelServer };
  delete process.env.ES_MODEL_CONFIG;
  server = mod.server;
  running = await serve(mod.default, { port: 0, logger: pino({ level: 'silent' }) });
  base = `http://127.0.0.1:${running.port}`;
});

afterAll(async () => {
  await running?.close(1000);
  await server?.close();
  await files.cleanup();
});

const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function ce(type: string, data: unknown, extra: Record<string, string> = {}) {
  return post('/', data, {
    'ce-specversion': '1.0',
    'ce-id': 'ev-1',
    'ce-source': '/tests',
    'ce-type': type,
    ...extra,
  });
}

describe('model server replica', () => {
  it('is ready only after the listed models loaded, and serves v2 over HTTP', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(server.repository.index().map((r) => [r.name, r.state])).toEqual([
      ['broken', 'UNAVAILABLE'],
      ['iris', 'READY'],
    ]);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const res = await post('/v2/models/iris/infer', v2Body);
    expect(res.status).toBe(200);
    expect((await res.json()).outputs[1]).toEqual({ name: 'label', datatype: 'INT64', shape: [1], data: [0] });
  });

  it('load with no body: 200 when the listed model is loaded, the reason when it failed, 404 when unlisted', async () => {
    const ok = await post('/v2/repository/models/iris/load');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ name: 'iris', load: true });
    const failed = await post('/v2/repository/models/broken/load');
    expect(failed.status).toBe(503);
    expect((await failed.json()).error).toMatch(/^Model with name broken is not ready\. onnxruntime could not load/);
    const unlisted = await post('/v2/repository/models/ghost/load');
    expect(unlisted.status).toBe(404);
    expect(await unlisted.json()).toEqual({
      error: 'Model with name ghost does not exist. It is not listed in the model config.',
    });
  });

  it('loads a model the platform just listed (load called right after the rewrite), and unloads one it drops', async () => {
    await writeConfig({ iris: { storageUri: irisUri }, add: { storageUri: addUri } });
    const res = await post('/v2/repository/models/add/load');
    expect(res.status).toBe(200);
    const sum = await post('/v2/models/add/infer', {
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [3, 4] },
      ],
    });
    expect((await sum.json()).outputs[0].data).toEqual([4, 6]);
    await writeConfig({ add: { storageUri: addUri } });
    const deadline = Date.now() + 5000;
    while (server.repository.get('iris') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect((await post('/v2/models/iris/infer', v2Body)).status).toBe(404);
    await writeConfig({ iris: { storageUri: irisUri }, add: { storageUri: addUri } });
    expect((await post('/v2/repository/models/iris/load')).status).toBe(200);
  });
});

describe('inference CloudEvents', () => {
  it('answers a v2 request event with a response event from /models/{m}, copying partitionkey and correlation', async () => {
    const res = await ce('dev.elasticserving.inference.request', v2Body, {
      'ce-model': 'iris',
      'ce-partitionkey': 'pk-7',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('ce-type')).toBe('dev.elasticserving.inference.response');
    expect(res.headers.get('ce-source')).toBe('/models/iris');
    expect(res.headers.get('ce-partitionkey')).toBe('pk-7');
    expect(res.headers.get('ce-correlationid')).toBe('ev-1');
    expect(res.headers.get('ce-model')).toBe('iris');
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.json();
    expect(body.model_name).toBe('iris');
    expect(body.outputs[1].data).toEqual([0]);
  });

  it("accepts KServe's type and v1 bodies, and finds the model in the subject", async () => {
    const res = await ce(
      'io.kserve.inference.request',
      { instances: [SETOSA] },
      { 'ce-subject': 'iris', 'ce-correlationid': 'c-1' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('ce-type')).toBe('io.kserve.inference.response');
    expect(res.headers.get('ce-correlationid')).toBe('c-1');
    expect((await res.json()).predictions[0]).toHaveLength(3);
  });

  it('uses the only model when the event names none', async () => {
    await writeConfig({ iris: { storageUri: irisUri } });
    const deadline = Date.now() + 5000;
    while (server.repository.names().length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const res = await ce('dev.elasticserving.inference.request', v2Body);
    expect(res.status).toBe(200);
    expect(res.headers.get('ce-source')).toBe('/models/iris');
    await writeConfig({ iris: { storageUri: irisUri }, add: { storageUri: addUri } });
    expect((await post('/v2/repository/models/add/load')).status).toBe(200);
    const ambiguous = await ce('dev.elasticserving.inference.request', v2Body);
    expect(ambiguous.status).toBe(400);
    expect((await ambiguous.json()).error).toMatch(/names no model/);
  });

  it('fails the delivery with the reason: 400 bad input, 404 unknown model, 503 not ready', async () => {
    const bad = await ce(
      'dev.elasticserving.inference.request',
      { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      { 'ce-model': 'iris' },
    );
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/unexpected shape for input 'input' for model 'iris'/);
    const neither = await ce('dev.elasticserving.inference.request', { rows: [] }, { 'ce-model': 'iris' });
    expect(neither.status).toBe(400);
    const unknown = await ce('dev.elasticserving.inference.request', v2Body, { 'ce-model': 'nope' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toBe('Model with name nope does not exist.');
    await writeConfig({
      iris: { storageUri: irisUri },
      add: { storageUri: addUri },
      broken: { storageUri: files.uri('models/broken/model.onnx') },
    });
    await post('/v2/repository/models/broken/load');
    const notReady = await ce('dev.elasticserving.inference.request', v2Body, { 'ce-model': 'broken' });
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('1');
    expect((await notReady.json()).error).toMatch(/^Model with name broken is not ready/);
    const otherType = await ce('dev.elasticserving.other', v2Body, { 'ce-model': 'iris' });
    expect(otherType.status).toBe(400);
  });
});
