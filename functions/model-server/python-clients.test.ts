/**
 * Independent checks with real Python tooling (cached venvs from test/support/python): NVIDIA's tritonclient
 * drives the v2 routes of a served replica, JSON and binary tensors; a model exported by skl2onnx is served.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defineFunction, type RunningFunction, serve } from 'elastic-serving/sdk';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PYTHON_ENVS } from '../../test/support/python/envs.ts';
import { describeWithPython } from '../../test/support/python/python-env.ts';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { ModelServer } from './model-server.ts';
import { type ModelFiles, modelFiles, parsed, req } from './test-support/fixtures.ts';

const run = promisify(execFile);
const PY = join(import.meta.dirname, '..', '..', 'test', 'support', 'python');

let files: ModelFiles;
let server: ModelServer;
let running: RunningFunction;
let host: string;

beforeAll(async () => {
  files = await modelFiles();
  server = new ModelServer();
  running = await serve(defineFunction(server.onEvent, { init: () => server.start(), http: server.http }), {
    port: 0,
    logger: pino({ level: 'silent' }),
  });
  host = `127.0.0.1:${running.port}`;
  await server.repository.load('iris', { storageUri: await files.write('iris.onnx', (await buildIrisModel()).model) });
});

afterAll(async () => {
  await running?.close(1000);
  await server?.close();
  await files?.cleanup();
});

await describeWithPython(
  'tritonclient',
  PYTHON_ENVS.tritonclient,
  'tritonclient[http] against the model server',
  (env) => {
    it('passes the JSON-tensor client check (health, metadata, infer, outputs selection, 404)', async () => {
      const { stdout } = await run(
        env.python,
        [join(PY, 'triton_v2_client.py'), '--url', `http://${host}`, '--model', 'iris'],
        {
          timeout: 60_000,
        },
      ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
      const report = JSON.parse(stdout);
      expect(report.failures).toEqual([]);
      expect(report.infer.label).toEqual([0, 1, 2]);
      expect(report.server_metadata.extensions).toEqual(['model_repository_extension', 'binary_tensor_data']);
    }, 60_000);

    it('speaks the binary tensor extension tritonclient uses by default', async () => {
      const script = join(import.meta.dirname, 'test-support', 'triton_binary_check.py');
      const { stdout } = await run(env.python, [script, '--url', host, '--model', 'iris'], { timeout: 60_000 });
      expect(JSON.parse(stdout)).toEqual({
        id: 'bin-1',
        label: [0, 1, 2],
        probabilities_shape: [3, 3],
        label_dtype: 'int64',
      });
    }, 60_000);
  },
);

await describeWithPython('skl2onnx', PYTHON_ENVS.skl2onnx, 'a model exported by skl2onnx', (env) => {
  it('is served with metadata from its session and classifies iris rows', async () => {
    const out = join(files.dir, 'sk', 'model.onnx');
    await run(env.python, [join(PY, 'skl2onnx_model.py'), '--out', out], { timeout: 120_000 });
    await server.repository.load('sk', { storageUri: `file://${join(files.dir, 'sk')}/` });
    const meta = parsed(await server.http(req('GET', '/v2/models/sk')));
    expect(meta.json.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    expect(meta.json.outputs.map((o: { name: string }) => o.name)).toEqual(['label', 'probabilities']);
    const res = parsed(
      await server.http(
        req('POST', '/v2/models/sk/infer', {
          inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2, 7.7, 3.0, 6.1, 2.3] }],
          outputs: [{ name: 'label' }],
        }),
      ),
    );
    expect(res.json.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] }]);
  }, 120_000);
});
