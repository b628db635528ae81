import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from './errors.ts';
import { fetchModel, pickOnnx, redactUri } from './storage.ts';
import { parseS3Uri, s3Settings } from './storage-s3.ts';
import { type ModelFiles, modelFiles } from './test-support/fixtures.ts';

let files: ModelFiles;
let http: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  files = await modelFiles();
  await files.write('one/model.onnx', 'ONE');
  await files.write('single/classifier.onnx', 'SINGLE');
  await files.write('single/README.md', 'docs');
  await files.write('many/a.onnx', 'A');
  await files.write('many/model.onnx', 'MODEL');
  await files.write('ambiguous/a.onnx', 'A');
  await files.write('ambiguous/b.onnx', 'B');
  await files.write('empty/notes.txt', 'x');
  const blobs: Record<string, string> = { '/models/iris.onnx': 'IRIS', '/models/dir/model.onnx': 'DIR' };
  http = createServer((req, res) => {
    seen.push(req.url ?? '');
    const path = (req.url ?? '').split('?')[0]!;
    const blob = blobs[path];
    if (blob === undefined) {
      res.writeHead(404).end('no such model');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => http.close(r));
  await files.cleanup();
});

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe('storage fetch', () => {
  it('reads file:// URIs: a file, or the single .onnx (else model.onnx) in a directory', async () => {
    expect(text((await fetchModel(files.uri('one/model.onnx'))).bytes)).toBe('ONE');
    expect(text((await fetchModel(files.uri('one'))).bytes)).toBe('ONE');
    expect(text((await fetchModel(`${files.uri('one')}/`)).bytes)).toBe('ONE');
    const single = await fetchModel(files.uri('single'));
    expect(text(single.bytes)).toBe('SINGLE');
    expect(single.from).toBe(files.uri('single/classifier.onnx'));
    expect(text((await fetchModel(files.uri('many'))).bytes)).toBe('MODEL');
    await expect(fetchModel(files.uri('ambiguous'))).rejects.toThrow(/2 .onnx files .* none is model.onnx/);
    await expect(fetchModel(files.uri('empty'))).rejects.toThrow(/no .onnx file/);
    await expect(fetchModel(files.uri('missing.onnx'))).rejects.toThrow(ModelLoadError);
    await expect(fetchModel('file://relative/model.onnx')).rejects.toThrow(/file:\/\/\/absolute/);
  });

  it('reads http:// URIs from a real server; a directory URI means model.onnx under it', async () => {
    expect(text((await fetchModel(`${base}/models/iris.onnx`)).bytes)).toBe('IRIS');
    expect(text((await fetchModel(`${base}/models/dir/`)).bytes)).toBe('DIR');
    expect(seen).toContain('/models/dir/model.onnx');
    await expect(fetchModel(`${base}/models/nope.onnx?X-Amz-Signature=secret`)).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/models\/nope\.onnx answered 404/,
    );
    await expect(fetchModel(`${base}/models/nope.onnx?X-Amz-Signature=secret`)).rejects.not.toThrow(/secret/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(fetchModel(`http://127.0.0.1:${port}/model.onnx`)).rejects.toThrow(/failed: .*ECONNREFUSED/);
  });

  it('rejects other schemes', async () => {
    await expect(fetchModel('gs://bucket/model.onnx')).rejects.toThrow(/use file:\/\/, http\(s\):\/\/ or s3:\/\//);
    await expect(fetchModel('/plain/path')).rejects.toThrow(/unsupported storageUri/);
  });

  it('redacts credentials and queries from URIs it reports', () => {
    expect(redactUri('https://user:pw@host/m.onnx?sig=abc')).toBe('https://host/m.onnx');
    expect(pickOnnx(['x.ONNX', 'y.txt'], 'dir')).toBe('x.ONNX');
  });

  it('reads S3 settings from the environment (path-style, endpoint precedence, default region)', () => {
    expect(parseS3Uri('s3://bucket/models/iris/model.onnx')).toEqual({
      bucket: 'bucket',
      key: 'models/iris/model.onnx',
    });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
    expect(() => parseS3Uri('s3:///key')).toThrow(/s3:\/\/bucket\/key/);
    expect(
      s3Settings({ ES_S3_ENDPOINT: 'http://a:9000', AWS_ENDPOINT_URL_S3: 'http://b', AWS_ENDPOINT_URL: 'http://c' }),
    ).toEqual({ endpoint: 'http://a:9000', region: 'us-east-1', credentials: undefined });
    expect(
      s3Settings({
        AWS_ENDPOINT_URL: 'http://c',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      }),
    ).toEqual({
      endpoint: 'http://c',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
  });

  it('reports an unreachable S3 endpoint without leaking the keys', async () => {
    const env = {
      ES_S3_ENDPOINT: 'http://127.0.0.1:1',
      AWS_ACCESS_KEY_ID: 'AKIDTESTKEY',
      AWS_SECRET_ACCESS_KEY: 'very-secret-value',
      AWS_MAX_ATTEMPTS: '1',
    };
    const err = await fetchModel('s3://bucket/models/m.onnx', { env }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/cannot fetch s3:\/\/bucket\/models\/m\.onnx at http:\/\/127\.0\.0\.1:1/);
    expect((err as Error).message).not.toMatch(/AKIDTESTKEY|very-secret-value/);
  }, 20_000);
});
