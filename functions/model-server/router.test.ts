import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import type { OrtType } from './datatypes.ts';
import { ModelServer } from './model-server.ts';
import { ModelRepository } from './repository.ts';
import { fetchModel, type ModelFetcher } from './storage.ts';
import { gate, type ModelFiles, modelFiles, parsed, req } from './test-support/fixtures.ts';
import { addSubModel, fixedShapeModel, identityModel } from './test-support/onnx-builder.ts';

let files: ModelFiles;
let server: ModelServer;
let irisUri: string;
const hold = gate();
const call = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  parsed(await server.http(req(method, path, body, headers)));

const SETOSA = [5.1, 3.5, 1.4, 0.2];
const VIRGINICA = [6.5, 3.0, 5.8, 2.2];

beforeAll(async () => {
  files = await modelFiles();
  irisUri = await files.write('iris/model.onnx', (await buildIrisModel()).model);
  const slow: ModelFetcher = async (uri, o) => {
    if (uri.includes('slow')) await hold.promise;
    return fetchModel(uri, o);
  };
  server = new ModelServer({ repository: new ModelRepository({ fetch: slow }) });
  expect((await call('GET', '/v2/health/ready')).status).toBe(503);
  await server.start();
  const repo = server.repository;
  await repo.load('iris', { storageUri: irisUri });
  await repo.load('addsub', { storageUri: await files.write('addsub.onnx', addSubModel()) });
  await repo.load('fixed', { storageUri: await files.write('fixed.onnx', fixedShapeModel()) });
  await repo.load('broken', { storageUri: await files.write('broken.onnx', 'garbage') }).catch(() => {});
  void repo.load('slow', { storageUri: await files.write('slow.onnx', addSubModel()) });
});

afterAll(async () => {
  hold.open();
  await server.close();
  await files.cleanup();
});

describe('v2 health and metadata', () => {
  it('answers live, ready and server metadata', async () => {
    expect(await call('GET', '/v2/health/live')).toMatchObject({ status: 200, json: { live: true } });
    expect(await call('GET', '/v2/health/ready')).toMatchObject({ status: 200, json: { ready: true } });
    expect(await call('GET', '/v2')).toMatchObject({
      status: 200,
      json: {
        name: 'elastic-serving-model-server',
        version: expect.any(String),
        extensions: ['model_repository_extension', 'binary_tensor_data'],
      },
    });
    expect((await call('GET', '/v2/')).status).toBe(200);
    expect(await call('GET', '/')).toMatchObject({ status: 200, json: { status: 'alive' } });
  });

  it('describes a model from its session, with and without a version', async () => {
    const meta = {
      name: 'iris',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    };
    expect(await call('GET', '/v2/models/iris')).toMatchObject({ status: 200, json: meta });
    expect(await call('GET', '/v2/models/iris/versions/1')).toMatchObject({ status: 200, json: meta });
    expect(await call('GET', '/v2/models/iris/versions/7')).toMatchObject({
      status: 404,
      json: { error: 'Model with name iris does not exist. It has no version 7 (only 1).' },
    });
    expect(await call('GET', '/v2/models/nope')).toMatchObject({
      status: 404,
      json: { error: 'Model with name nope does not exist.' },
    });
    expect((await call('GET', '/v2/models')).json).toEqual({ models: ['addsub', 'broken', 'fixed', 'iris', 'slow'] });
  });

  it('answers model readiness: 200 ready, 503 loading or failed, 404 unknown', async () => {
    expect(await call('GET', '/v2/models/iris/ready')).toMatchObject({
      status: 200,
      json: { name: 'iris', ready: true },
    });
    expect((await call('GET', '/v2/models/iris/versions/1/ready')).status).toBe(200);
    const slow = await call('GET', '/v2/models/slow/ready');
    expect(slow).toMatchObject({ status: 503, json: { error: 'Model with name slow is not ready. LOADING' } });
    expect(slow.headers['retry-after']).toBe('1');
    const broken = await call('GET', '/v2/models/broken/ready');
    expect(broken.status).toBe(503);
    expect(broken.json.error).toMatch(/^Model with name broken is not ready\. UNAVAILABLE: onnxruntime could not load/);
    expect((await call('GET', '/v2/models/nope/ready')).status).toBe(404);
  });
});

describe('v2 infer', () => {
  it('infers one row (flat data) and echoes the id', async () => {
    const res = await call('POST', '/v2/models/iris/infer', {
      id: 'req-1',
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: SETOSA }],
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json).toMatchObject({ model_name: 'iris', model_version: '1', id: 'req-1' });
    const [probs, label] = res.json.outputs;
    expect(probs).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [1, 3] });
    expect(probs.data.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [1], data: [0] });
  });

  it('takes nested data, several rows, outputs selection and parameters, on versioned paths too', async () => {
    const res = await call('POST', '/v2/models/iris/versions/1/infer', {
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [SETOSA, VIRGINICA], parameters: { a: 1 } }],
      outputs: [{ name: 'label' }],
      parameters: { custom: 'x' },
    });
    expect(res.status).toBe(200);
    expect(res.json.id).toBeUndefined();
    expect(res.json.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] }]);
  });

  it('serves a model with several inputs and outputs', async () => {
    const res = await call('POST', '/v2/models/addsub/infer', {
      inputs: [
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [1, 1] },
        { name: 'a', shape: [1, 2], datatype: 'FP32', data: [5, 7] },
      ],
      outputs: [{ name: 'diff' }, { name: 'sum' }],
    });
    expect(res.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data])).toEqual([
      ['diff', [4, 6]],
      ['sum', [6, 8]],
    ]);
  });

  it('round-trips every datatype through an Identity model', async () => {
    const values: Record<string, [OrtType, unknown[], unknown[]?]> = {
      BOOL: ['bool', [true, false, false, true]],
      UINT8: ['uint8', [0, 255, 1, 2]],
      UINT16: ['uint16', [0, 65535, 1, 2]],
      UINT32: ['uint32', [0, 4294967295, 1, 2]],
      UINT64: ['uint64', [0, 18446744073709551615n, 1, 2], [0, '18446744073709551615', 1, 2]],
      INT8: ['int8', [-128, 127, 0, 1]],
      INT16: ['int16', [-32768, 32767, 0, 1]],
      INT32: ['int32', [-2147483648, 2147483647, 0, 1]],
      INT64: [
        'int64',
        [-9223372036854775808n, 9223372036854775807n, 0, 1],
        ['-9223372036854775808', '9223372036854775807', 0, 1],
      ],
      FP16: ['float16', [1.5, -2, 0.333251953125, 65504]],
      FP32: ['float32', [0.5, -1.25, 3, 1e10]],
      FP64: ['float64', [0.1, -1e300, 3, 5e-324]],
      BYTES: ['string', ['a', 'héllo', '', 'x "y"']],
    };
    for (const [datatype, [ort, expected, sent]] of Object.entries(values)) {
      const name = `id-${datatype.toLowerCase()}`;
      await server.repository.load(name, { storageUri: await files.write(`${name}.onnx`, identityModel(ort)) });
      const answer = await server.http(
        req('POST', `/v2/models/${name}/infer`, {
          inputs: [{ name: 'x', shape: [2, 2], datatype, data: sent ?? expected }],
        }),
      );
      expect(answer!.status, `${datatype}: ${answer!.body}`).toBe(200);
      const text = answer!.body!.toString();
      // Compare the data as text: int64/uint64 extremes must come back digit for digit.
      const data = /"data":\[(.*)\]}\]}$/.exec(text)![1];
      const want = expected.map((v) => (typeof v === 'bigint' ? v.toString() : JSON.stringify(v))).join(',');
      expect(data, datatype).toBe(want);
      expect(JSON.parse(text).outputs[0]).toMatchObject({ name: 'y', datatype, shape: [2, 2] });
      await server.repository.unload(name);
    }
  });

  it('rejects bad requests with 400 and KServe/Triton-like messages', async () => {
    const infer = (body: unknown) => call('POST', '/v2/models/iris/infer', body);
    const input = (over: Record<string, unknown>) => ({
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: SETOSA, ...over }],
    });
    const cases: [unknown, RegExp][] = [
      [input({ datatype: 'FP64' }), /^inference input 'input' data-type is 'FP64', but model 'iris' expects 'FP32'$/],
      [input({ datatype: 'FLOAT' }), /invalid datatype "FLOAT" for input 'input'/],
      [
        input({ shape: [1, 3] }),
        /^unexpected shape for input 'input' for model 'iris'\. Expected \[-1,4\], got \[1,3\]$/,
      ],
      [
        input({ shape: [2, 4] }),
        /unexpected number of elements in input 'input' for model 'iris': shape needs 8, got 4/,
      ],
      [
        input({ data: [1, 2, 'x', 4] }),
        /invalid value at position 2 of input 'input' for model 'iris': "x" is not a number/,
      ],
      [input({ data: undefined }), /input 'input' has no data/],
      [input({ name: 'other' }), /^unexpected inference input "other" for model 'iris'$/],
      [{ inputs: [] }, /^missing inference input 'input' for model 'iris'$/],
      [{ ...input({}), outputs: [{ name: 'nope' }] }, /^unexpected inference output "nope" for model 'iris'$/],
      [{ ...input({}), id: 5 }, /"id" must be a string/],
      [{ instances: [SETOSA] }, /needs "inputs"/],
      [[1, 2], /Unrecognized request format/],
    ];
    for (const [body, message] of cases) {
      const res = await infer(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.json)).toEqual(['error']);
      expect(res.json.error).toMatch(message);
    }
    const notJson = await call('POST', '/v2/models/iris/infer', Buffer.from('{"inputs": ['));
    expect(notJson.status).toBe(400);
    expect(notJson.json.error).toMatch(/^Unrecognized request format: /);
    expect((await call('POST', '/v2/models/iris/infer')).status).toBe(400);
    expect(
      (await call('POST', '/v2/models/fixed/infer', input({ name: 'x', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }))).json
        .error,
    ).toMatch(/Expected \[1,3\], got \[2,3\]/);
  });

  it('answers 404 for unknown models, 503 for models not ready, 405/404 for wrong methods and paths', async () => {
    const body = { inputs: [{ name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] };
    expect(await call('POST', '/v2/models/nope/infer', body)).toMatchObject({
      status: 404,
      json: { error: 'Model with name nope does not exist.' },
    });
    expect((await call('POST', '/v2/models/slow/infer', body)).status).toBe(503);
    expect((await call('POST', '/v2/models/broken/infer', body)).status).toBe(503);
    const wrong = await call('GET', '/v2/models/iris/infer');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    expect((await call('POST', '/v2/health/live')).status).toBe(405);
    expect((await call('GET', '/v2/nothing')).status).toBe(404);
    expect((await call('GET', '/v3/models')).status).toBe(404);
    expect((await call('GET', '/v2/models/iris/extra/path')).status).toBe(404);
  });

  it('speaks the binary tensor extension both ways', async () => {
    const json = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
        outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities' }],
      }),
    );
    const tensor = Buffer.from(new Float32Array([...SETOSA, ...VIRGINICA]).buffer);
    const answer = await server.http(
      req('POST', '/v2/models/iris/infer', Buffer.concat([json, tensor]), {
        'inference-header-content-length': String(json.length),
        'content-type': 'application/octet-stream',
      }),
    );
    expect(answer!.status).toBe(200);
    const body = answer!.body as Buffer;
    const headLength = Number(answer!.headers!['inference-header-content-length']);
    const head = JSON.parse(body.subarray(0, headLength).toString());
    expect(head.outputs[0]).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [2],
      parameters: { binary_data_size: 16 },
    });
    expect(head.outputs[1].data).toHaveLength(6);
    const labels = body.subarray(headLength);
    expect(labels.length).toBe(16);
    expect([labels.readBigInt64LE(0), labels.readBigInt64LE(8)]).toEqual([0n, 2n]);

    const all = await server.http(
      req('POST', '/v2/models/iris/infer', {
        inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: SETOSA }],
        parameters: { binary_data_output: true },
      }),
    );
    const allHead = JSON.parse(
      (all!.body as Buffer).subarray(0, Number(all!.headers!['inference-header-content-length'])).toString(),
    );
    expect(allHead.outputs.map((o: { parameters: unknown }) => o.parameters)).toEqual([
      { binary_data_size: 12 },
      { binary_data_size: 8 },
    ]);
    const short = await call('POST', '/v2/models/iris/infer', Buffer.concat([json, tensor.subarray(0, 8)]), {
      'inference-header-content-length': String(json.length),
    });
    expect(short.status).toBe(400);
    expect(short.json.error).toMatch(/declares 32 bytes of binary data, but the request carries 8/);
  });
});

describe('v2 infer with batching on', () => {
  it('batches concurrent requests of one model into fewer session runs, each answer its own rows', async () => {
    const uri = await files.write('batched/model.onnx', addSubModel());
    const served = await server.repository.load('batched', {
      storageUri: uri,
      batching: { maxBatchSize: 32, maxLatencyMs: 20 },
    });
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        call('POST', '/v2/models/batched/infer', {
          id: `r${i}`,
          inputs: [
            { name: 'a', shape: [1, 2], datatype: 'FP32', data: [i, i] },
            { name: 'b', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
          ],
          outputs: i % 2 ? [{ name: 'diff' }] : undefined,
        }),
      ),
    );
    expect(served.model.runs).toBeLessThan(24);
    answers.forEach((res, i) => {
      expect(res.json.id).toBe(`r${i}`);
      const outputs = Object.fromEntries(
        res.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]),
      );
      if (i % 2) expect(outputs).toEqual({ diff: [i - 1, i - 2] });
      else expect(outputs).toEqual({ sum: [i + 1, i + 2], diff: [i - 1, i - 2] });
    });
    await server.repository.unload('batched');
  });
});

describe('repository extension', () => {
  it('indexes models with their states and reasons, optionally only the ready ones', async () => {
    const index = await call('POST', '/v2/repository/index');
    expect(index.status).toBe(200);
    const byName = Object.fromEntries(index.json.map((r: { name: string }) => [r.name, r]));
    expect(byName.iris).toEqual({ name: 'iris', version: '1', state: 'READY', reason: '' });
    expect(byName.slow).toMatchObject({ state: 'LOADING' });
    expect(byName.broken.state).toBe('UNAVAILABLE');
    expect(byName.broken.reason).toMatch(/onnxruntime could not load/);
    const ready = await call('POST', '/v2/repository/index', { ready: true });
    expect(ready.json.every((r: { state: string }) => r.state === 'READY')).toBe(true);
    expect((await call('GET', '/v2/repository/index')).status).toBe(405);
  });

  it('loads with a storageUri parameter, unloads, and reports load failures with the reason', async () => {
    const uri = await files.write('extra/model.onnx', addSubModel());
    expect(await call('POST', '/v2/repository/models/extra/load', { parameters: { storageUri: uri } })).toMatchObject({
      status: 200,
      json: { name: 'extra', load: true },
    });
    expect((await call('GET', '/v2/models/extra/ready')).status).toBe(200);
    expect(await call('POST', '/v2/repository/models/extra/unload')).toMatchObject({
      status: 200,
      json: { name: 'extra', unload: true },
    });
    expect((await call('GET', '/v2/models/extra')).status).toBe(404);
    expect(await call('POST', '/v2/repository/models/extra/unload')).toMatchObject({
      status: 404,
      json: { error: 'Model with name extra does not exist.' },
    });
    const failed = await call('POST', '/v2/repository/models/bad/load', {
      parameters: { storageUri: files.uri('none.onnx') },
    });
    expect(failed.status).toBe(503);
    expect(failed.json.error).toMatch(/^Model with name bad is not ready\. cannot read .*none\.onnx/);
    // No config file: a load without a spec names a model listed nowhere.
    expect(await call('POST', '/v2/repository/models/ghost/load')).toMatchObject({
      status: 404,
      json: { error: 'Model with name ghost does not exist. It is not listed in the model config.' },
    });
    expect((await call('POST', '/v2/repository/models/x/load', { parameters: { storageUri: 5 } })).status).toBe(400);
  });
});

describe('v1', () => {
  it('answers model readiness and lists models', async () => {
    expect(await call('GET', '/v1/models/iris')).toMatchObject({ status: 200, json: { name: 'iris', ready: true } });
    expect((await call('GET', '/v1/models/nope')).status).toBe(404);
    expect((await call('GET', '/v1/models/slow')).status).toBe(503);
    expect((await call('GET', '/v1/models')).json.models).toContain('iris');
  });

  it('predicts: instances are rows, predictions the rows of the first output', async () => {
    const res = await call('POST', '/v1/models/iris:predict', { instances: [SETOSA, VIRGINICA] });
    expect(res.status).toBe(200);
    expect(res.json.predictions).toHaveLength(2);
    expect(res.json.predictions[0]).toHaveLength(3);
    expect(res.json.predictions[0][0]).toBeGreaterThan(0.5);
    expect(res.json.predictions[1][2]).toBeGreaterThan(0.5);
    const multi = await call('POST', '/v1/models/addsub:predict', {
      instances: [
        { a: [1, 2], b: [3, 4] },
        { a: [0, 0], b: [1, 1] },
      ],
    });
    expect(multi.json).toEqual({
      predictions: [
        [4, 6],
        [1, 1],
      ],
    });
  });

  it('rejects bad v1 input with 400, unknown models with 404', async () => {
    expect((await call('POST', '/v1/models/iris:predict', { instances: [[1, 2, 3]] })).json.error).toMatch(
      /Expected \[-1,4\], got \[1,3\]/,
    );
    expect((await call('POST', '/v1/models/iris:predict', { instances: [SETOSA, [1, 2]] })).status).toBe(400);
    expect((await call('POST', '/v1/models/iris:predict', { rows: [] })).json).toEqual({
      error: 'Expected "instances" to be a list',
    });
    expect((await call('POST', '/v1/models/addsub:predict', { instances: [[1, 2]] })).json.error).toMatch(
      /instance 0 must be an object with a value for each input/,
    );
    expect((await call('POST', '/v1/models/nope:predict', { instances: [SETOSA] })).status).toBe(404);
    expect((await call('GET', '/v1/models/iris:predict')).status).toBe(405);
  });
});
