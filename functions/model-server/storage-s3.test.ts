/** s3:// storage against the real S3-compatible server deploy/local/services.sh starts (path-style). */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithEngine, engines } from '../../test/support/engines.ts';
import { createTestBucket, s3Client } from '../../test/support/s3.ts';
import { ModelLoadError } from './errors.ts';
import { ModelRepository } from './repository.ts';
import { fetchModel } from './storage.ts';
import { irisLikeModel } from './test-support/onnx-builder.ts';

const env = {
  ES_S3_ENDPOINT: engines.s3.url,
  AWS_ACCESS_KEY_ID: engines.s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: engines.s3.secretAccessKey,
  AWS_MAX_ATTEMPTS: '1',
};

await describeWithEngine('s3', 's3:// model storage', () => {
  let client: S3Client;
  let bucket: string;
  let cleanup: () => Promise<void>;
  const put = (key: string, body: Uint8Array | string) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

  beforeAll(async () => {
    client = s3Client();
    ({ bucket, cleanup } = await createTestBucket(client, 'model-server'));
    await put('models/iris/model.onnx', irisLikeModel());
    await put('models/iris/README.md', 'docs');
    await put('models/single/v1.onnx', 'SINGLE');
    await put('models/two/a.onnx', 'A');
    await put('models/two/b.onnx', 'B');
  });
  afterAll(async () => {
    await cleanup?.();
    client?.destroy();
  });

  it('fetches a key, a prefix ending in /, and a prefix named like a directory', async () => {
    const direct = await fetchModel(`s3://${bucket}/models/iris/model.onnx`, { env });
    expect(Buffer.from(direct.bytes)).toEqual(Buffer.from(irisLikeModel()));
    expect(direct.from).toBe(`s3://${bucket}/models/iris/model.onnx`);
    expect((await fetchModel(`s3://${bucket}/models/iris/`, { env })).from).toBe(
      `s3://${bucket}/models/iris/model.onnx`,
    );
    expect((await fetchModel(`s3://${bucket}/models/iris`, { env })).from).toBe(
      `s3://${bucket}/models/iris/model.onnx`,
    );
    expect(Buffer.from((await fetchModel(`s3://${bucket}/models/single`, { env })).bytes).toString()).toBe('SINGLE');
  });

  it('explains missing keys, ambiguous prefixes and bad keys without leaking the secret', async () => {
    await expect(fetchModel(`s3://${bucket}/models/nope.onnx`, { env })).rejects.toThrow(
      new RegExp(`s3://${bucket}/models/nope\\.onnx at ${engines.s3.url} does not exist`),
    );
    await expect(fetchModel(`s3://${bucket}/models/two/`, { env })).rejects.toThrow(/2 .onnx files/);
    const wrong = { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-123' };
    const err = await fetchModel(`s3://${bucket}/models/iris/model.onnx`, { env: wrong }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as Error).message).toMatch(/cannot fetch s3:\/\//);
    expect((err as Error).message).not.toContain('wrong-secret-123');
    expect((err as Error).message).not.toContain(engines.s3.secretAccessKey);
  });

  it('loads and serves a model from s3://', async () => {
    const repo = new ModelRepository({ env });
    const served = await repo.load('iris', { storageUri: `s3://${bucket}/models/iris/` });
    expect(served.model.inputs[0]!.shape).toEqual([-1, 4]);
    await repo.close();
  });
});
