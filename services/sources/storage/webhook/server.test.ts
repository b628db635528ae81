import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeWithEngine } from '../../../../test/support/engines.ts';
import { createTestBucket, deleteBucketAndObjects, s3Client } from '../../../../test/support/s3.ts';
import { type PrivateS3, startPrivateS3 } from '../../../../test/support/s3-private.ts';
import { type Received, startSubscriber } from '../../../../test/support/subscriber.ts';
import { makeEvent } from '../../../core/cloudevent.ts';
import { encodeStructured, parseHttpEvent } from '../../../core/http/codec.ts';
import { resolveStorageCredentials } from '../credentials.ts';
import { StorageSourceRunner } from '../runner.ts';
import { serveStorageWebhooks } from '../serve.ts';
import type { StorageSourceSpec } from '../types.ts';
import { gcsObjectData, minioPayload } from './fixtures.ts';
import { buildStorageWebhookApp } from './server.ts';

type Subscriber = Awaited<ReturnType<typeof startSubscriber>>;

/** The event a sink received, decoded as any CloudEvents receiver would (binary-mode headers are %-encoded). */
function eventOf(r: Received) {
  const { attributes, data } = parseHttpEvent(r.headers, r.body);
  return { ...attributes, data: JSON.parse(data?.toString('utf8') ?? 'null') as Record<string, unknown> };
}

/** A runner with one webhook source posting to a real HTTP subscriber, and its webhook app. */
async function setup(spec: Partial<StorageSourceSpec> = {}, baseUrl: string | null = 'http://127.0.0.1:8085') {
  const stateDir = await mkdtemp(join(tmpdir(), 'es-webhook-'));
  const sink = await startSubscriber();
  const runner = new StorageSourceRunner({
    stateDir,
    logger: pino({ level: 'silent' }),
    webhookBaseUrl: baseUrl ?? undefined,
  });
  const app = buildStorageWebhookApp({ ...runner.webhookOptions(), logLevel: 'silent' });
  const upsert = async (s: Partial<StorageSourceSpec> = spec, name = 'uploads') => {
    const full: StorageSourceSpec = {
      webhook: {},
      sink: { uri: sink.url },
      delivery: { retry: 1, backoffDelay: 'PT0.01S' },
      ...s,
    };
    const credentials = await resolveStorageCredentials(full, { namespace: 'team-a' });
    return runner.upsert({ metadata: { name, namespace: 'team-a' }, spec: full }, credentials);
  };
  if (baseUrl !== null) await upsert();
  const close = async () => {
    await app.close();
    await runner.stopAll();
    await sink.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  return { runner, app, sink, upsert, close };
}

describe('storage webhook (fastify inject)', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    s = await setup({ webhook: { token: 'sekret-token' } });
  });
  afterEach(async () => {
    await s.close();
  });

  it('answers HEAD and GET on a source path (MinIO liveness) and 404 elsewhere', async () => {
    expect((await s.app.inject({ method: 'HEAD', url: '/team-a/uploads' })).statusCode).toBe(200);
    expect((await s.app.inject({ method: 'GET', url: '/team-a/uploads/' })).statusCode).toBe(200);
    const missing = await s.app.inject({ method: 'HEAD', url: '/team-a/other' });
    expect(missing.statusCode).toBe(404);
    const root = await s.app.inject({ method: 'POST', url: '/', payload: '{}' });
    expect(root.json()).toMatchObject({ code: 'ES_ERR_NOT_FOUND' });
    expect(s.runner.webhookUrl('team-a/uploads')).toBe('http://127.0.0.1:8085/team-a/uploads');
  });

  it('asks for the bearer token (401), refuses a wrong one (403), and never echoes it', async () => {
    const body = minioPayload({ eventName: 's3:ObjectCreated:Put', bucket: 'b', encodedKey: 'k', size: 1 });
    const none = await s.app.inject({ method: 'POST', url: '/team-a/uploads', payload: body });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await s.app.inject({
      method: 'POST',
      url: '/team-a/uploads',
      payload: body,
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.body).not.toContain('sekret-token');
    expect(s.sink.received).toHaveLength(0);
  });

  it('turns a MinIO put into our created event at the sink, and answers 200 once the sink accepted it', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/team-a/uploads',
      headers: { authorization: 'Bearer sekret-token', 'content-type': 'application/json' },
      payload: minioPayload({
        eventName: 's3:ObjectCreated:Put',
        bucket: 'uploads',
        encodedKey: 'models%2Firis%2Fmodel+v2.onnx',
        size: 321,
        etag: 'aaaabbbbccccddddeeeeffff00001111',
        contentType: 'application/octet-stream',
      }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 1, skipped: 0 });
    expect(s.sink.received).toHaveLength(1);
    expect(eventOf(s.sink.received[0]!)).toMatchObject({
      type: 'dev.elasticserving.storage.object.created',
      subject: 'models/iris/model v2.onnx',
      source: '/apis/v1/namespaces/team-a/storagesources/uploads',
      data: {
        bucket: 'uploads',
        key: 'models/iris/model v2.onnx',
        size: 321,
        etag: 'aaaabbbbccccddddeeeeffff00001111',
        contentType: 'application/octet-stream',
      },
    });
  });

  it('answers 400 with the reason for a bad payload, and 503 when the sink refuses (so the sender retries)', async () => {
    const headers = { authorization: 'Bearer sekret-token', 'content-type': 'application/json' };
    const bad = await s.app.inject({ method: 'POST', url: '/team-a/uploads', headers, payload: '{"Records": [{}]}' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'ES_ERR_BAD_REQUEST', error: 'Records[0].eventName: required' });

    s.sink.setResponder((_r, res) => res.writeHead(500).end());
    const refused = await s.app.inject({
      method: 'POST',
      url: '/team-a/uploads',
      headers,
      payload: minioPayload({ eventName: 's3:ObjectRemoved:Delete', bucket: 'b', encodedKey: 'k' }),
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(s.sink.received).toHaveLength(2); // first attempt + 1 retry (spec.delivery.retry)
  });

  it('serves a custom path, and refuses a second source on a path already served', async () => {
    await s.upsert({ webhook: { path: '/minio/events' } }, 'custom');
    expect((await s.app.inject({ method: 'HEAD', url: '/minio/events' })).statusCode).toBe(200);
    await expect(s.upsert({ webhook: { path: '/minio/events' } }, 'clash')).rejects.toMatchObject({
      reason: 'PathConflict',
    });
  });
});

describe('storage webhook (real HTTP, served by serveStorageWebhooks)', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let base: string;
  let served: FastifyInstance;
  beforeAll(async () => {
    s = await setup({}, null);
    await expect(s.upsert()).rejects.toMatchObject({ reason: 'WebhookServerDisabled' });
    const { url, app } = await serveStorageWebhooks(s.runner, { port: 0, logLevel: 'silent' });
    served = app;
    base = url;
    await s.upsert(); // the next reconcile, once the server listens
  });
  afterAll(async () => {
    await served.close();
    await s.close();
  });

  it('takes a MinIO payload and a structured GCS CloudEvent over a real socket', async () => {
    expect(s.runner.webhookUrl('team-a/uploads')).toBe(`${base}/team-a/uploads`);
    const head = await fetch(`${base}/team-a/uploads`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const minio = await fetch(`${base}/team-a/uploads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        minioPayload({ eventName: 's3:ObjectRemoved:Delete', bucket: 'uploads', encodedKey: 'old+model.onnx' }),
      ),
    });
    expect(minio.status).toBe(200);
    const gcs = encodeStructured(
      makeEvent(
        {
          id: '42',
          source: '//storage.googleapis.com/projects/_/buckets/gbucket',
          type: 'google.cloud.storage.object.v1.finalized',
          subject: 'objects/batches/rows.jsonl',
          datacontenttype: 'application/json',
        },
        gcsObjectData('gbucket', 'batches/rows.jsonl', '{"id":1}\n'),
      ),
    );
    const posted = await fetch(`${base}/team-a/uploads`, {
      method: 'POST',
      headers: gcs.headers,
      body: gcs.body.toString('utf8'),
    });
    expect(posted.status).toBe(200);
    const events = s.sink.received.map(eventOf);
    expect(events.map((e) => [e.type, e.subject, e.data.bucket])).toEqual([
      ['dev.elasticserving.storage.object.deleted', 'old model.onnx', 'uploads'],
      ['dev.elasticserving.storage.object.created', 'batches/rows.jsonl', 'gbucket'],
    ]);
    expect(events[1]!.data).toMatchObject({ size: 9, contentType: 'application/json' });
  });
});

await describeWithEngine('s3', 'storage webhook fed by a real S3-compatible server', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let server: PrivateS3 | undefined;
  let sink: Subscriber;
  beforeAll(async () => {
    s = await setup({ webhook: { keyEncoding: 'raw' } });
    sink = s.sink;
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.app.server.address() as AddressInfo).port;
    // The server posts a test event at start and will not start if it is refused: the source must be up first.
    server = await startPrivateS3({ webhookUrl: `http://127.0.0.1:${port}/team-a/uploads` });
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
    await s.close();
  });

  it('announces a real put and delete, raw key with a space and a plus kept intact', async () => {
    const client = s3Client(server!);
    const { bucket } = await createTestBucket(client, 'webhook');
    try {
      const key = 'models/iris v2/model+1.onnx';
      const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'twelve bytes' }));
      await sink.waitFor(1);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      const received = await sink.waitFor(2);
      const events = received.map(eventOf);
      expect(events[0]).toMatchObject({
        type: 'dev.elasticserving.storage.object.created',
        subject: key,
        data: { bucket, key, size: 12, etag: put.ETag?.replaceAll('"', '') },
      });
      expect(events[1]).toMatchObject({ type: 'dev.elasticserving.storage.object.deleted', subject: key });
    } finally {
      await deleteBucketAndObjects(client, bucket);
    }
  });
});
